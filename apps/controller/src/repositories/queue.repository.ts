import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { hostQueueName, type JobData, type JobName, QUEUE_PREFIX, RUN_JOB_DEFAULTS } from '@berth/contracts';
import { type FlowJob, FlowProducer, Queue, UnrecoverableError } from 'bullmq';
import { RedisRepository } from './redis.repository';
import { ClosableRedisConnection } from '@berth/queueing';

/**
 * Jobs added per MULTI by addRunJobs: one round trip each, and short enough that Redis (which runs a MULTI as
 * one block) keeps answering others in between.
 */
const ADD_BATCH = 250;
const ADD_BATCHES_IN_FLIGHT = 2;

/** A run's job and when it may start (null: at once). */
export interface RunJob {
  data: JobData;
  notBefore: Date | null;
}

export { QueueUnavailableError } from './redis.repository';

/**
 * Where a run's job is in BullMQ, as the reconciler needs it. `active` jobs say whether their agent still holds
 * the lock (it renews it every half lock duration; an expired lock means the agent died or is cut off).
 */
export type RunJobState =
  | { state: 'active'; locked: boolean }
  | { state: 'waiting' | 'delayed' }
  | { state: 'failed'; failedReason: string }
  | { state: 'completed' }
  | { state: 'missing' };

/** What removeRunJob did: removed (or there was none), or left alone because an agent holds it. */
export type RemoveResult = 'removed' | 'missing' | 'held-by-agent';

/** What failOrphanedJob did with an active job nobody holds: BullMQ retries it after the backoff, or failed it. */
export type OrphanResult = 'retrying' | 'failed' | 'not-orphaned';

/** What requeueRunJob did with the run's job. */
export type RequeueResult = 'retried' | 'added' | 'already-queued' | 'held-by-agent';

/**
 * One BullMQ queue per host, created on first use and cached; all share the Redis repository's connection, as does
 * the flow producer that adds many hosts' jobs at once. None of them blocks: the controller holds no connection
 * per host.
 */
@Injectable()
export class QueueRepository implements OnModuleDestroy {
  private readonly queues = new Map<string, Queue<JobData, unknown, JobName>>();
  private producer: FlowProducer | null = null;

  constructor(private readonly redis: RedisRepository) {}

  /**
   * Adds a run's job to its host's queue. The job id is the run id, so adding the same run twice is a no-op in
   * BullMQ: a run can never be executed by two jobs. Job options are set here and nowhere else (a scheduled run's
   * job, added by addRunJobs, waits until its `notBefore`).
   */
  async addRunJob(data: JobData): Promise<void> {
    await this.answered(() => this.queueFor(data.hostId).add(data.kind, data, runJobOptions(data, null)));
  }

  /**
   * addRunJob for many runs, on any hosts' queues (a schedule tick's): the jobs go in MULTI blocks of ADD_BATCH
   * through BullMQ's flow producer on the shared connection, one round trip per block instead of one per job, with
   * the same job ids and options. Two blocks are in flight at a time (Redis runs one while the next is built), and
   * each has its own REDIS_ANSWER_TIMEOUT_MS from when it is sent, so a long tick never times out its last blocks. Returns
   * the run ids whose jobs Redis did not take, with why; a block that fails counts whole (the caller fails those
   * runs, as addRunJob's caller does), even if Redis ran part of it.
   */
  async addRunJobs(jobs: readonly RunJob[]): Promise<Map<string, string>> {
    const failed = new Map<string, string>();
    const inFlight = new Set<Promise<void>>();
    for (let start = 0; start < jobs.length; start += ADD_BATCH) {
      const batch = jobs.slice(start, start + ADD_BATCH);
      const sending = this.answered(() => this.flowProducer.addBulk(batch.map(flowJob))).then(
        () => undefined,
        (error: unknown) => {
          for (const job of batch) failed.set(job.data.runId, error instanceof Error ? error.message : String(error));
        },
      );
      inFlight.add(sending);
      void sending.finally(() => inFlight.delete(sending));
      if (inFlight.size >= ADD_BATCHES_IN_FLIGHT) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    return failed;
  }

  /**
   * Queues a run's job again for an operator's retry, under the same job id. A job in BullMQ's failed set is
   * retried in place (job.retry: same id, data and options, attempts counted afresh); a completed or orphaned
   * leftover is removed and the job added again from `data`, as is one already gone (removed by age). A job still
   * waiting or delayed is left as it is, and an active one is reported: its agent may still hold it.
   */
  async requeueRunJob(data: JobData): Promise<RequeueResult> {
    return this.answered(async (): Promise<RequeueResult> => {
      const queue = this.queueFor(data.hostId);
      const job = await queue.getJob(data.runId);
      const state = job === undefined ? 'missing' : await job.getState();
      if (job !== undefined && state === 'failed') {
        await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
        return 'retried';
      }
      if (state === 'active') return 'held-by-agent';
      if (state !== 'missing' && state !== 'unknown' && state !== 'completed') return 'already-queued';
      // BullMQ ignores an add whose job id still exists, so a leftover must go first.
      if (job !== undefined) await job.remove();
      await queue.add(data.kind, data, runJobOptions(data, null));
      return 'added';
    });
  }

  /** Reads where a run's job is (two or three reads on the shared connection; nothing blocks). */
  async runJobState(hostId: string, runId: string): Promise<RunJobState> {
    return this.answered(async (): Promise<RunJobState> => {
      const queue = this.queueFor(hostId);
      const job = await queue.getJob(runId);
      if (job === undefined) return { state: 'missing' };
      const state = await job.getState();
      switch (state) {
        case 'active':
          return { state, locked: await this.isLocked(queue, runId) };
        case 'waiting':
        case 'prioritized':
        case 'waiting-children':
          return { state: 'waiting' };
        case 'delayed':
          return { state };
        case 'failed':
          return { state, failedReason: job.failedReason || 'no reason given' };
        case 'completed':
          return { state };
        default:
          return { state: 'missing' };
      }
    });
  }

  /**
   * Removes a run's job unless an agent holds its lock (BullMQ refuses to remove a locked job): a job waiting,
   * delayed, finished, or active with an expired lock is gone afterwards.
   */
  async removeRunJob(hostId: string, runId: string): Promise<RemoveResult> {
    return this.answered(async (): Promise<RemoveResult> => {
      const queue = this.queueFor(hostId);
      if ((await queue.getJob(runId)) === undefined) return 'missing';
      return (await queue.remove(runId)) === 1 ? 'removed' : 'held-by-agent';
    });
  }

  /**
   * Fails the attempt of an active job whose lock has expired, as the stalled check of a worker on the host's
   * queue would, but counting it as a failed attempt: BullMQ retries it after the backoff while attempts remain
   * (`retryable`), else fails it for good. This is for jobs of agents that vanished: no worker runs the stalled
   * check of their queue. A job whose lock is held again, or that left the active state, is left alone.
   */
  async failOrphanedJob(hostId: string, runId: string, reason: string, retryable: boolean): Promise<OrphanResult> {
    return this.answered(async (): Promise<OrphanResult> => {
      const queue = this.queueFor(hostId);
      const job = await queue.getJob(runId);
      if (job === undefined || (await job.getState()) !== 'active' || (await this.isLocked(queue, runId))) return 'not-orphaned';
      try {
        // Token "0": BullMQ's own way to act on a job without its lock (nobody holds one; checked just above, and a
        // lock can only be taken again once the job is back in the waiting list, where this move then fails).
        await job.moveToFailed(retryable ? new Error(reason) : new UnrecoverableError(reason), '0', false);
      } catch {
        return 'not-orphaned';
      }
      return (await job.getState()) === 'failed' ? 'failed' : 'retrying';
    });
  }

  /**
   * Fails a run's active job for good (UnrecoverableError: no retry) in place of the agent holding it, which can no
   * longer do so itself (its credential was revoked, its Redis user deleted). The agent's lock token is read from
   * the job's lock so BullMQ releases it as the agent would; a job that is not active is left alone. True when
   * the job was failed.
   */
  async failActiveJob(hostId: string, runId: string, reason: string): Promise<boolean> {
    return this.answered(async () => {
      const queue = this.queueFor(hostId);
      const job = await queue.getJob(runId);
      if (job === undefined || (await job.getState()) !== 'active') return false;
      const token = (await this.redis.connection.get(`${queue.toKey(runId)}:lock`)) ?? '0';
      await job.moveToFailed(new UnrecoverableError(reason), token, false);
      return true;
    });
  }

  async onModuleDestroy(): Promise<void> {
    const queues = [...this.queues.values()];
    this.queues.clear();
    await Promise.allSettled([...queues.map((queue) => queue.close()), this.producer?.close()]);
  }

  private answered<T>(work: () => Promise<T>): Promise<T> {
    return this.redis.answered(work);
  }

  /** BullMQ keeps a job's lock at "<job key>:lock" while a worker holds it. */
  private async isLocked(queue: Queue<JobData, unknown, JobName>, jobId: string): Promise<boolean> {
    return (await this.redis.connection.exists(`${queue.toKey(jobId)}:lock`)) === 1;
  }

  private get flowProducer(): FlowProducer {
    if (this.producer === null) {
      this.producer = new FlowProducer({ connection: this.redis.connection, prefix: QUEUE_PREFIX }, ClosableRedisConnection);
      this.producer.on('error', () => undefined);
    }
    return this.producer;
  }

  private queueFor(hostId: string): Queue<JobData, unknown, JobName> {
    let queue = this.queues.get(hostId);
    if (queue === undefined) {
      queue = new Queue<JobData, unknown, JobName>(hostQueueName(hostId), { connection: this.redis.connection, prefix: QUEUE_PREFIX }, ClosableRedisConnection);
      // Errors surface through add(); the shared connection already logs connection trouble.
      queue.on('error', () => undefined);
      this.queues.set(hostId, queue);
    }
    return queue;
  }
}

function flowJob(job: RunJob): FlowJob {
  return { name: job.data.kind, queueName: hostQueueName(job.data.hostId), data: job.data, prefix: QUEUE_PREFIX, opts: runJobOptions(job.data, job.notBefore) };
}

/**
 * Every run job's options. The job id is the run id; a job to start later is delayed by what is left of the wait
 * now, measured as late as possible (just before BullMQ stamps the job).
 */
function runJobOptions(data: JobData, notBefore: Date | null): typeof RUN_JOB_DEFAULTS & { jobId: string; delay?: number } {
  const delayMs = notBefore === null ? 0 : notBefore.getTime() - Date.now();
  return { ...RUN_JOB_DEFAULTS, ...(delayMs > 0 ? { delay: delayMs } : {}), jobId: data.runId };
}
