import { Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { controllerRedisClientName } from '@berth/contracts';
import { REDIS_DISCONNECT_TIMEOUT_MS } from '@berth/queueing';
import { Redis } from 'ioredis';
import { hostname } from 'node:os';
import { ControllerConfig } from '../config/controller-config';

/** How long boot waits for Redis before serving anyway (health then reports it down). */
const READY_WAIT_MS = 3_000;
/** Redis work through the controller that takes longer than this fails as unavailable. */
export const REDIS_ANSWER_TIMEOUT_MS = 5_000;
/** Repeated connection errors are logged at most this often. */
const ERROR_LOG_INTERVAL_MS = 30_000;

/** The client name of this controller's connections (`role` for one with a job of its own); see CLIENT LIST. */
export function clientName(role?: string): string {
  return controllerRedisClientName(hostname(), process.pid, role);
}

/** Redis is unreachable, or did not answer in time: the caller answers "unavailable" instead of hanging. */
export class QueueUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QueueUnavailableError';
  }
}

/**
 * The controller's one Redis connection, shared by every host queue (BullMQ producers need no blocking
 * connection). Producers fail fast: no offline queue, one retry per command, so an API call answers
 * "unavailable" instead of hanging while Redis is down.
 */
@Injectable()
export class RedisRepository implements OnModuleInit, OnApplicationShutdown {
  readonly connection: Redis;
  private readonly logger = new Logger('Redis');
  private lastErrorLoggedAt = 0;

  constructor(config: ControllerConfig) {
    this.connection = new Redis(config.redisUrl, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 5_000,
      lazyConnect: true,
      connectionName: clientName(),
      disconnectTimeout: REDIS_DISCONNECT_TIMEOUT_MS,
    });
    this.connection.on('error', (error: Error) => this.logError(error));
  }

  async onModuleInit(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), READY_WAIT_MS);
    });
    const connected = this.connection.connect().then(
      () => true,
      () => false,
    );
    const ready = await Promise.race([connected, timedOut]);
    clearTimeout(timer);
    if (!ready) {
      this.logger.warn('Redis is not reachable yet; runs cannot be queued until it is');
    }
  }

  /**
   * Redis work that fails fast: BullMQ waits for a connection rather than failing, so without Redis, or past
   * the timeout, this throws a QueueUnavailableError instead.
   */
  async answered<T>(work: () => Promise<T>): Promise<T> {
    if (!this.isReady()) throw new QueueUnavailableError('Redis is not reachable');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new QueueUnavailableError(`Redis did not answer within ${REDIS_ANSWER_TIMEOUT_MS} ms`)), REDIS_ANSWER_TIMEOUT_MS);
    });
    try {
      return await Promise.race([work(), timeout]);
    } catch (error) {
      throw error instanceof QueueUnavailableError ? error : new QueueUnavailableError(error instanceof Error ? error.message : String(error));
    } finally {
      clearTimeout(timer);
    }
  }

  isReady(): boolean {
    return this.connection.status === 'ready';
  }

  async ping(): Promise<void> {
    await this.connection.ping();
  }

  /**
   * Takes a lease on `key` for `ttlMs` (SET NX PX) unless someone holds it: true when taken. Controller replicas
   * use it so that periodic work runs on one of them per period; it is never released early, it expires.
   */
  async tryLease(key: string, owner: string, ttlMs: number): Promise<boolean> {
    return (await this.connection.set(key, owner, 'PX', ttlMs, 'NX')) === 'OK';
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.connection.status === 'end') return;
    try {
      await this.connection.quit();
    } catch {
      // Not connected: nothing to flush, just stop reconnecting.
      this.connection.disconnect();
    }
  }

  private logError(error: Error): void {
    const now = Date.now();
    if (now - this.lastErrorLoggedAt < ERROR_LOG_INTERVAL_MS) return;
    this.lastErrorLoggedAt = now;
    this.logger.error(`Redis connection error: ${error.message}`);
  }
}
