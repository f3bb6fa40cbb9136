import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { QUEUE_PREFIX, WEBHOOK_JOB_NAME, type WebhookDeliveryJobData, webhookQueueName } from '@berth/contracts';
import { type Job, Queue, UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { ControllerConfig } from '../config/controller-config';
import { QueueUnavailableError } from './queue.repository';
import { RedisRepository } from './redis.repository';

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

const ANSWER_TIMEOUT_MS = 5_000;
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
  private worker: { worker: Worker<WebhookDeliveryJobData>; connection: Redis } | null = null;
  private readonly logger = new Logger('WebhookQueue');

  constructor(
    private readonly config: ControllerConfig,
    private readonly redis: RedisRepository,
  ) {
    this.queueName = webhookQueueName(decodeURIComponent(new URL(config.databaseUrl).pathname.slice(1)) || 'default');
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
    if (this.worker !== null) return;
    const connection = new Redis(this.config.redisUrl, { maxRetriesPerRequest: null });
    connection.on('error', () => undefined);
    const worker = new Worker<WebhookDeliveryJobData>(this.queueName, (job: Job<WebhookDeliveryJobData>) => this.run(job, handler), {
      connection,
      prefix: QUEUE_PREFIX,
      concurrency: WORKER_CONCURRENCY,
    });
    worker.on('error', (error) => this.logger.warn(`Webhook worker: ${error.message}`));
    this.worker = { worker, connection };
  }

  async onModuleDestroy(): Promise<void> {
    const running = this.worker;
    this.worker = null;
    if (running !== null) {
      // As for the schedule worker: a worker closed while still connecting would keep its connection open.
      if (this.redis.isReady()) await this.answered(() => running.worker.waitUntilReady()).catch(() => undefined);
      await running.worker.close();
      running.connection.disconnect();
    }
    await this.queueInstance?.close();
  }

  private async run(job: Job<WebhookDeliveryJobData>, handler: DeliveryHandler): Promise<void> {
    // attemptsMade counts the attempts that failed before this one.
    const attempt = job.attemptsMade + 1;
    const verdict = await handler({ deliveryId: job.data.deliveryId, attempt, final: attempt >= (job.opts.attempts ?? 1) });
    if (verdict.outcome === 'retry') throw new Error(verdict.reason);
    if (verdict.outcome === 'give-up') throw new UnrecoverableError(verdict.reason);
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
    } catch (error) {
      throw error instanceof QueueUnavailableError ? error : new QueueUnavailableError(error instanceof Error ? error.message : String(error));
    } finally {
      clearTimeout(timer);
    }
  }

  private get queue(): Queue<WebhookDeliveryJobData> {
    if (this.queueInstance === null) {
      this.queueInstance = new Queue<WebhookDeliveryJobData>(this.queueName, { connection: this.redis.connection, prefix: QUEUE_PREFIX });
      this.queueInstance.on('error', () => undefined);
    }
    return this.queueInstance;
  }
}
