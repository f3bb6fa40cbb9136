import { hostQueueName, type JobData, QUEUE_PREFIX } from '@berth/contracts';
import { type Job, Worker } from 'bullmq';
import { randomUUID } from 'node:crypto';

/** A job taken from a host queue the way an agent's worker takes it: active, locked with `token`. */
export interface TakenJob {
  job: Job<JobData>;
  token: string;
}

/**
 * A real BullMQ worker on a host's queue, driven by hand: the test takes jobs and decides what becomes of them
 * (fail, complete, move back, or nothing at all: then the lock is never renewed and expires, as when an agent is
 * killed). Its stalled check can be run on demand, as a restarted agent's worker runs it.
 */
export class ManualWorker {
  private constructor(private readonly worker: Worker<JobData>) {}

  static async open(hostId: string, options: { lockDurationMs?: number } = {}): Promise<ManualWorker> {
    const worker = new Worker<JobData>(hostQueueName(hostId), null, {
      connection: { url: requiredRedisUrl(), maxRetriesPerRequest: null },
      prefix: QUEUE_PREFIX,
      autorun: false,
      lockDuration: options.lockDurationMs ?? 30_000,
      stalledInterval: 1_000,
    });
    await worker.waitUntilReady();
    return new ManualWorker(worker);
  }

  /** Takes the next waiting job (waits up to a few seconds for one). */
  async take(): Promise<TakenJob> {
    const token = randomUUID();
    const job = await this.worker.getNextJob(token, { block: true });
    if (job === undefined) throw new Error('no job to take');
    return { job, token };
  }

  /**
   * Runs BullMQ's stalled-job check every second, as a restarted agent's worker does every stalledInterval, and
   * resolves once it has put `jobId` back to waiting (the job's lock must have expired for that).
   */
  async stalledBackToWaiting(jobId: string, timeoutMs = 15_000): Promise<void> {
    const moved = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`job ${jobId} was not found stalled within ${timeoutMs} ms`)), timeoutMs);
      this.worker.on('stalled', (stalledId) => {
        if (stalledId !== jobId) return;
        clearTimeout(timer);
        resolve();
      });
    });
    await this.worker.startStalledCheckTimer();
    await moved;
  }

  async close(): Promise<void> {
    await this.worker.close();
  }
}

function requiredRedisUrl(): string {
  const url = process.env['REDIS_URL'];
  if (url === undefined || url === '') throw new Error('REDIS_URL is not set: run the integration tests with jest from the repository root');
  return url;
}
