import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type ControllerHandle, startController } from '@berth/harness';
import { createTestDatabase, type TestDatabase } from '@berth/local-stack';

/** The built controller process on a database of its own, for the CLI to talk to; no receiver, no agent. */
export interface CliController {
  /** A temporary directory of the suite (the controller's log is in it). */
  readonly work: string;
  readonly controller: ControllerHandle;
  /** Stops the controller, drops the database, removes `work`. */
  stop(): Promise<void>;
}

export async function startCliController(suite: string, env: Readonly<Record<string, string>> = {}): Promise<CliController> {
  const work = await fs.mkdtemp(path.join(os.tmpdir(), `berth-cli-${suite}-`));
  let database: TestDatabase | undefined;
  let controller: ControllerHandle | undefined;
  const stop = async (): Promise<void> => {
    await controller?.stop();
    await database?.drop();
    await fs.rm(work, { recursive: true, force: true });
  };
  try {
    database = await createTestDatabase();
    controller = await startController({
      databaseUrl: database.url,
      redisUrl: process.env['REDIS_URL'] ?? '',
      receiverAddress: { host: '127.0.0.1', port: 7443 },
      receiverToken: `cli-${suite}-receiver-token-0123456789`,
      logFile: path.join(work, 'controller.log'),
      // Runs here are driven by hand through the agent API, with no agent taking their jobs.
      env: { BERTH_RECONCILE_INTERVAL_MS: '0', ...env },
    });
    return { work, controller, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
