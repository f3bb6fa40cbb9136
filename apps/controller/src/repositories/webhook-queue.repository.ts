import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { QUEUE_PREFIX, WEBHOOK_JOB_NAME, type WebhookDeliveryJobData, webhookQueueName } from '@berth/contracts';
import { type Job, Queue, UnrecoverableError } from 'bullmq';
import { ControllerConfig } from '../config/controller-config';
import { ControllerWorker, deploymentName } from './controller-worker';
import { RedisRepository } from './redis.repository';
import { ClosableRedisConnection } from '@berth/queueing';

/** Which attempt of a delivery a job run is. */
export interface DeliveryTry {
  deliveryId: string;
  /** 1 for the first. */
  attempt: number;
  /** No attempt follows this one, whatever it comes to. */
  final: boolean;
}

/**
 * What an attempt came to: `retry` fails the job so that BullMQ tries again after the backoff (or gives up after
 * the last attempt); `give-up` fails it for good (UnrecoverableError).
 */
export type DeliveryVerdict = { outcome: 'done' } | { outcome: 'retry' | 'give-up'; reason: string };

export type DeliveryHandler = (attempt: DeliveryTry) => Promise<DeliveryVerdict>;

/** Deliveries sent at once by one controller. */
const WORKER_CONCURRENCY = 8;

/**
 * The controller's webhook delivery queue (one per deployment) and its worker. A job's id is its delivery's id, so
 * queueing a delivery twice (the sweep, a retried event) is a no-op while its job exists; attempts and exponential
 * backoff come from the configuration and are set here only.
 */
@Injectable()
export class WebhookQueueRepository implements OnModuleDestroy {
  readonly queueName: string;
  private queueInstance: Queue<WebhookDeliveryJobData> | null = null;
  private worker: ControllerWorker<WebhookDeliveryJobData> | null = null;

  constructor(
    private readonly config: ControllerConfig,
    private readonly redis: RedisRepository,
  ) {
    this.queueName = webhookQueueName(deploymentName(config.databaseUrl));
  }

  async enqueue(deliveryIds: readonly string[]): Promise<void> {
    if (deliveryIds.length === 0) return;
    const { attempts, backoffMs } = this.config.webhooks;
    await this.answered(() =>
      this.queue.addBulk(
        deliveryIds.map((deliveryId) => ({
          name: WEBHOOK_JOB_NAME,
          data: { deliveryId },
          opts: {
            jobId: deliveryId,
            attempts,
            backoff: { type: 'exponential', delay: backoffMs },
            removeOnComplete: { age: 24 * 3600, count: 1000 },
            removeOnFail: { age: 7 * 24 * 3600, count: 1000 },
          },
        })),
      ),
    );
  }

  /** Starts the worker that sends deliveries. */
  startWorker(handler: DeliveryHandler): void {
    this.worker ??= new ControllerWorker<WebhookDeliveryJobData>(this.config.redisUrl, this.queueName, 'webhooks', (job) => this.run(job, handler), WORKER_CONCURRENCY);
  }

  async onModuleDestroy(): Promise<void> {
    const running = this.worker;
    this.worker = null;
    await running?.close(this.redis);
    await this.queueInstance?.close();
  }

  private async run(job: Job<WebhookDeliveryJobData>, handler: DeliveryHandler): Promise<void> {
    // attemptsMade counts the attempts that failed before this one.
    const attempt = job.attemptsMade + 1;
    const verdict = await handler({ deliveryId: job.data.deliveryId, attempt, final: attempt >= (job.opts.attempts ?? 1) });
    if (verdict.outcome === 'retry') throw new Error(verdict.reason);
    if (verdict.outcome === 'give-up') throw new UnrecoverableError(verdict.reason);
  }

  private answered<T>(work: () => Promise<T>): Promise<T> {
    return this.redis.answered(work);
  }

  private get queue(): Queue<WebhookDeliveryJobData> {
    if (this.queueInstance === null) {
      this.queueInstance = new Queue<WebhookDeliveryJobData>(this.queueName, { connection: this.redis.connection, prefix: QUEUE_PREFIX }, ClosableRedisConnection);
      this.queueInstance.on('error', () => undefined);
    }
    return this.queueInstance;
  }
}
