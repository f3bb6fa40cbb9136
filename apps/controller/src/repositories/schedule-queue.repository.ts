import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { QUEUE_PREFIX } from '@berth/contracts';
import { type Job, Queue } from 'bullmq';
import { ControllerConfig } from '../config/controller-config';
import { ControllerWorker, deploymentName } from './controller-worker';
import { RedisRepository } from './redis.repository';
import { ClosableRedisConnection } from '@berth/queueing';

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
const SCHEDULER_ID_PREFIX = 'schedule.';

/**
 * The controller's own queue of schedule ticks, one per deployment: replicas of a deployment share the database,
 * so its name tells deployments apart when they share a Redis (as test suites do).
 */
export function scheduleQueueName(databaseUrl: string): string {
  return `schedules.${deploymentName(databaseUrl)}`;
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
  private worker: ControllerWorker<TickJobData> | null = null;

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
    this.worker ??= new ControllerWorker<TickJobData>(this.config.redisUrl, this.queueName, 'scheduler', async (job: Job<TickJobData>) => handler(job.data.scheduleId, firedAtOf(job)), 4);
  }

  async onModuleDestroy(): Promise<void> {
    const running = this.worker;
    this.worker = null;
    await running?.close(this.redis);
    await this.queueInstance?.close();
  }

  private answered<T>(work: () => Promise<T>): Promise<T> {
    return this.redis.answered(work);
  }

  private get queue(): Queue<TickJobData> {
    if (this.queueInstance === null) {
      this.queueInstance = new Queue<TickJobData>(this.queueName, { connection: this.redis.connection, prefix: QUEUE_PREFIX }, ClosableRedisConnection);
      this.queueInstance.on('error', () => undefined);
    }
    return this.queueInstance;
  }
}

/** When the tick was due: BullMQ keeps the scheduler's occurrence as prevMillis (its timestamp is when it was added). */
function firedAtOf(job: Job<TickJobData>): Date {
  return new Date(job.opts.prevMillis ?? job.timestamp + Math.max(0, job.delay));
}
