/** One line per event, for operators. */
export interface Logger {
  info(line: string): void;
  error(line: string): void;
}

export const consoleLogger: Logger = {
  info: (line) => process.stdout.write(`${new Date().toISOString()} ${line}\n`),
  error: (line) => process.stderr.write(`${new Date().toISOString()} ${line}\n`),
};
