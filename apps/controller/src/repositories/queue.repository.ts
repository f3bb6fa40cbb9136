import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { hostQueueName, type JobData, type JobName, QUEUE_PREFIX, RUN_JOB_DEFAULTS } from '@berth/contracts';
import { Queue } from 'bullmq';
import { RedisRepository } from './redis.repository';

/** An add that does not answer within this time is reported as a failure rather than left hanging. */
const ADD_TIMEOUT_MS = 5_000;

export class QueueUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QueueUnavailableError';
  }
}

/** One BullMQ queue per host, created on first use and cached; all share the Redis repository's connection. */
@Injectable()
export class QueueRepository implements OnModuleDestroy {
  private readonly queues = new Map<string, Queue<JobData, unknown, JobName>>();

  constructor(private readonly redis: RedisRepository) {}

  /**
   * Adds a run's job to its host's queue. The job id is the run id, so adding the same run twice is a no-op in
   * BullMQ: a run can never be executed by two jobs. Job options are set here and nowhere else.
   */
  async addRunJob(data: JobData): Promise<void> {
    if (!this.redis.isReady()) {
      throw new QueueUnavailableError('Redis is not reachable');
    }
    const added = this.queueFor(data.hostId).add(data.kind, data, { ...RUN_JOB_DEFAULTS, jobId: data.runId });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new QueueUnavailableError(`Redis did not answer within ${ADD_TIMEOUT_MS} ms`)), ADD_TIMEOUT_MS);
    });
    try {
      await Promise.race([added, timeout]);
    } catch (error) {
      throw error instanceof QueueUnavailableError ? error : new QueueUnavailableError(error instanceof Error ? error.message : String(error));
    } finally {
      clearTimeout(timer);
    }
  }

  async onModuleDestroy(): Promise<void> {
    const queues = [...this.queues.values()];
    this.queues.clear();
    await Promise.allSettled(queues.map((queue) => queue.close()));
  }

  private queueFor(hostId: string): Queue<JobData, unknown, JobName> {
    let queue = this.queues.get(hostId);
    if (queue === undefined) {
      queue = new Queue<JobData, unknown, JobName>(hostQueueName(hostId), { connection: this.redis.connection, prefix: QUEUE_PREFIX });
      // Errors surface through add(); the shared connection already logs connection trouble.
      queue.on('error', () => undefined);
      this.queues.set(hostId, queue);
    }
    return queue;
  }
}
