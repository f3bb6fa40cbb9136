import { startHashHelper } from '@berth/delta';
import { errorMessage } from '../errors/agent-error';
import { type Logger } from '../util/logger';
import { batchReader } from './batch-reader';

/**
 * Starts a backup's helper threads (the small-file reader and the SHA-256 helper of deltas) while the agent waits
 * for its first job, so that its first backup does not pay for them: the first delta of a fresh process took 70 ms
 * longer to hash, the thread's start and the first touch of its ring, on the machine measured. Neither idle thread
 * keeps the process alive; one that fails to start here is started again by its first use.
 */
export function startHelperThreads(log: Logger): void {
  try {
    batchReader.start();
  } catch (error) {
    log.warn(`the file reader thread did not start ahead of the first backup: ${errorMessage(error)}`);
  }
  startHashHelper().catch((error: unknown) => log.warn(`the hashing thread did not start ahead of the first backup: ${errorMessage(error)}`));
}
