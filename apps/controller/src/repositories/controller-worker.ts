import { Logger } from '@nestjs/common';
import { QUEUE_PREFIX } from '@berth/contracts';
import { type Job, type Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { ClosableWorker, REDIS_DISCONNECT_TIMEOUT_MS } from '@berth/queueing';
import { clientName, type RedisRepository } from './redis.repository';

/**
 * The name of a deployment: its database's name. Replicas of one deployment share the database, so queues named
 * after it tell deployments apart when they share a Redis (as test suites do).
 */
export function deploymentName(databaseUrl: string): string {
  return decodeURIComponent(new URL(databaseUrl).pathname.slice(1)) || 'default';
}

/**
 * One of the controller's own BullMQ workers (schedule ticks, webhook deliveries): one per controller, never
 * one per host. It has a connection of its own, and BullMQ's blocking connection beside it; both carry the
 * client name of `role`, so CLIENT LIST shows what the controller holds.
 */
export class ControllerWorker<T> {
  private readonly connection: Redis;
  private readonly worker: Worker<T>;

  constructor(redisUrl: string, queueName: string, role: string, processor: (job: Job<T>) => Promise<void>, concurrency: number) {
    const logger = new Logger(`Worker ${role}`);
    this.connection = new Redis(redisUrl, { maxRetriesPerRequest: null, connectionName: clientName(role), disconnectTimeout: REDIS_DISCONNECT_TIMEOUT_MS });
    this.connection.on('error', () => undefined);
    this.worker = new ClosableWorker<T>(queueName, processor, {
      connection: this.connection,
      prefix: QUEUE_PREFIX,
      concurrency,
      // BullMQ names the worker's blocking connection after it: `bull:<queue>:w:<this name>`.
      name: clientName(role),
    });
    this.worker.on('error', (error) => logger.warn(error.message));
    this.worker.on('failed', (job, error) => logger.warn(`job ${job?.id ?? '?'} failed: ${error.message}`));
  }

  async close(redis: RedisRepository): Promise<void> {
    // A worker closed while still connecting leaves its blocking connection behind (it kept the process alive
    // for ~30 s): let it finish connecting first, when Redis answers at all.
    if (redis.isReady()) await redis.answered(() => this.worker.waitUntilReady()).catch(() => undefined);
    await this.worker.close();
    this.connection.disconnect();
  }
}
