/** One line per event, on stdout (info) or stderr (warnings, errors), prefixed with time and level. */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export function consoleLogger(prefix = 'berth agent'): Logger {
  const line = (level: string, message: string): string => `${new Date().toISOString()} ${level} ${prefix}: ${message.replace(/\n/g, '\\n')}\n`;
  return {
    info: (message) => void process.stdout.write(line('info', message)),
    warn: (message) => void process.stderr.write(line('warn', message)),
    error: (message) => void process.stderr.write(line('error', message)),
  };
}

/** For callers that want no output (library use, tests that assert on results instead). */
export const silentLogger: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };
