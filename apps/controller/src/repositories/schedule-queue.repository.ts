import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { QUEUE_PREFIX } from '@berth/contracts';
import { type Job, Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { ControllerConfig } from '../config/controller-config';
import { QueueUnavailableError } from './queue.repository';
import { clientName, RedisRepository } from './redis.repository';

/** Data of a tick job: which schedule fired. */
export interface TickJobData {
  scheduleId: string;
}

export interface SchedulerSpec {
  scheduleId: string;
  cron: string;
  timeZone: string;
}

/** What a tick handler gets: the schedule, and when BullMQ meant the tick to fire. */
export type TickHandler = (scheduleId: string, firedAt: Date) => Promise<void>;

const TICK_JOB_NAME = 'tick';
const ANSWER_TIMEOUT_MS = 5_000;
const SCHEDULER_ID_PREFIX = 'schedule.';

/**
 * The controller's own queue of schedule ticks, one per deployment: replicas of a deployment share the database,
 * so its name tells deployments apart when they share a Redis (as test suites do).
 */
export function scheduleQueueName(databaseUrl: string): string {
  return `schedules.${decodeURIComponent(new URL(databaseUrl).pathname.slice(1)) || 'default'}`;
}

export function schedulerIdOf(scheduleId: string): string {
  return `${SCHEDULER_ID_PREFIX}${scheduleId}`;
}

/**
 * One BullMQ job scheduler per schedule on the controller's schedule queue, and the one Worker that runs the
 * ticks. The producer side uses the shared connection; the worker needs a blocking connection of its own (one
 * per controller, never one per host).
 */
@Injectable()
export class ScheduleQueueRepository implements OnModuleDestroy {
  readonly queueName: string;
  private queueInstance: Queue<TickJobData> | null = null;
  private worker: { worker: Worker<TickJobData>; connection: Redis } | null = null;
  private readonly logger = new Logger('ScheduleQueue');

  constructor(
    private readonly config: ControllerConfig,
    private readonly redis: RedisRepository,
  ) {
    this.queueName = scheduleQueueName(config.databaseUrl);
  }

  /** Whether Redis answers now (BullMQ calls wait for a connection instead of failing). */
  isReady(): boolean {
    return this.redis.isReady();
  }

  /** Creates or replaces a schedule's job scheduler (BullMQ keeps its next tick in step with the new pattern). */
  async upsertScheduler(spec: SchedulerSpec): Promise<void> {
    await this.answered(() =>
      this.queue.upsertJobScheduler(
        schedulerIdOf(spec.scheduleId),
        { pattern: spec.cron, tz: spec.timeZone },
        { name: TICK_JOB_NAME, data: { scheduleId: spec.scheduleId }, opts: { removeOnComplete: 100, removeOnFail: 100 } },
      ),
    );
  }

  async removeScheduler(scheduleId: string): Promise<void> {
    await this.answered(() => this.queue.removeJobScheduler(schedulerIdOf(scheduleId)));
  }

  /** Schedule ids of every job scheduler on the queue. */
  async listSchedulerScheduleIds(): Promise<string[]> {
    const schedulers = await this.answered(() => this.queue.getJobSchedulers(0, -1, true));
    return schedulers.map((scheduler) => scheduler.key).filter((key) => key.startsWith(SCHEDULER_ID_PREFIX)).map((key) => key.slice(SCHEDULER_ID_PREFIX.length));
  }

  /** Starts the worker that runs ticks (one tick job at a time per schedule is all BullMQ produces). */
  startWorker(handler: TickHandler): void {
    if (this.worker !== null) return;
    const connection = new Redis(this.config.redisUrl, { maxRetriesPerRequest: null, connectionName: clientName('scheduler') });
    connection.on('error', () => undefined);
    const worker = new Worker<TickJobData>(this.queueName, async (job: Job<TickJobData>) => handler(job.data.scheduleId, firedAtOf(job)), {
      connection,
      prefix: QUEUE_PREFIX,
      concurrency: 4,
      // BullMQ names the worker's blocking connection after it: `bull:<queue>:w:<this name>`.
      name: clientName('scheduler'),
    });
    worker.on('error', (error) => this.logger.warn(`Schedule worker: ${error.message}`));
    worker.on('failed', (job, error) => this.logger.warn(`Tick ${job?.id ?? '?'} failed: ${error.message}`));
    this.worker = { worker, connection };
  }

  async onModuleDestroy(): Promise<void> {
    const running = this.worker;
    this.worker = null;
    if (running !== null) {
      // A worker closed while still connecting leaves its blocking connection behind (it kept the process
      // alive for ~30 s): let it finish connecting first, when Redis answers at all.
      if (this.redis.isReady()) await this.answered(() => running.worker.waitUntilReady()).catch(() => undefined);
      await running.worker.close();
      running.connection.disconnect();
    }
    await this.queueInstance?.close();
  }

  /** BullMQ waits for a connection rather than failing: without Redis, or past the timeout, this throws instead. */
  private async answered<T>(work: () => Promise<T>): Promise<T> {
    if (!this.redis.isReady()) throw new QueueUnavailableError('Redis is not reachable');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new QueueUnavailableError(`Redis did not answer within ${ANSWER_TIMEOUT_MS} ms`)), ANSWER_TIMEOUT_MS);
    });
    try {
      return await Promise.race([work(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Created on first use, like the host queues: a controller whose Redis is away never waits on it at shutdown. */
  private get queue(): Queue<TickJobData> {
    if (this.queueInstance === null) {
      this.queueInstance = new Queue<TickJobData>(this.queueName, { connection: this.redis.connection, prefix: QUEUE_PREFIX });
      this.queueInstance.on('error', () => undefined);
    }
    return this.queueInstance;
  }
}

/** When the tick was due: BullMQ keeps the scheduler's occurrence as prevMillis (its timestamp is when it was added). */
function firedAtOf(job: Job<TickJobData>): Date {
  return new Date(job.opts.prevMillis ?? job.timestamp + Math.max(0, job.delay));
}
