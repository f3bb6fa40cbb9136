import { execFile } from 'node:child_process';
import { BERTH_BIN } from '@berth/harness';

export interface BerthResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** The controller a CLI run talks to, and the API token it presents (BERTH_TOKEN). */
export interface BerthTarget {
  readonly url: string;
  readonly adminToken: string;
}

export interface BerthRunOptions {
  /** BERTH_TOKEN; null: none (the CLI then uses what `berth login` stored). Default: the admin token. */
  readonly token?: string | null;
  /** Extra environment, e.g. BERTH_CREDENTIALS_FILE. */
  readonly env?: Readonly<Record<string, string>>;
  /** Written to the CLI's stdin, then closed. */
  readonly input?: string;
  /** Default: set BERTH_CONTROLLER_URL to the target's URL. */
  readonly controllerUrlInEnv?: boolean;
}

/** Runs the built `berth` CLI as an operator would, against the given controller. */
export function runBerth(args: readonly string[], target: BerthTarget, options: BerthRunOptions = {}): Promise<BerthResult> {
  const token = options.token === undefined ? target.adminToken : options.token;
  const env: Record<string, string> = { PATH: process.env['PATH'] ?? '', ...options.env };
  if (options.controllerUrlInEnv !== false) env['BERTH_CONTROLLER_URL'] = target.url;
  if (token !== null) env['BERTH_TOKEN'] = token;
  return new Promise((resolve, reject) => {
    const child = execFile(process.execPath, [BERTH_BIN, ...args], { env, timeout: 120_000 }, (error, stdout, stderr) => {
      if (error !== null && typeof error.code !== 'number') {
        reject(new Error(`could not run berth ${args.join(' ')}: ${error.message}`));
        return;
      }
      resolve({ code: error === null ? 0 : (error.code as number), stdout, stderr });
    });
    child.stdin?.end(options.input ?? '');
  });
}
