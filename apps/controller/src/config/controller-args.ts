import { type HostPort, parseHostPort } from './host-port';

export interface ControllerArgs {
  listen?: HostPort;
  help: boolean;
}

export const CONTROLLER_USAGE = 'usage: berth controller [--listen HOST:PORT]  (environment: DATABASE_URL, REDIS_URL, BERTH_RECEIVER_TOKEN, ...)';

/** Flags of `berth controller`; throws an Error whose message says what was wrong. */
export function parseControllerArgs(argv: readonly string[]): ControllerArgs {
  const args: ControllerArgs = { help: false };
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index] as string;
    if (arg === '--help' || arg === '-h') {
      args.help = true;
    } else if (arg === '--listen' || arg.startsWith('--listen=')) {
      const value = arg === '--listen' ? argv[++index] : arg.slice('--listen='.length);
      if (value === undefined || value === '') throw new Error('--listen needs HOST:PORT');
      const parsed = parseHostPort(value, { allowPortZero: true });
      if ('error' in parsed) throw new Error(`--listen: ${parsed.error}`);
      args.listen = parsed;
    } else {
      throw new Error(`unknown argument "${arg}"`);
    }
  }
  return args;
}
