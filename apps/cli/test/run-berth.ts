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

/** Runs the built `berth` CLI as an operator would, against the given controller; `token` overrides the admin token. */
export function runBerth(args: readonly string[], target: BerthTarget, token: string = target.adminToken): Promise<BerthResult> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [BERTH_BIN, ...args], { env: { PATH: process.env['PATH'] ?? '', BERTH_CONTROLLER_URL: target.url, BERTH_TOKEN: token }, timeout: 120_000 }, (error, stdout, stderr) => {
      if (error !== null && typeof error.code !== 'number') {
        reject(new Error(`could not run berth ${args.join(' ')}: ${error.message}`));
        return;
      }
      resolve({ code: error === null ? 0 : (error.code as number), stdout, stderr });
    });
  });
}
