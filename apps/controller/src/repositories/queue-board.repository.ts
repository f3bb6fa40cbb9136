import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { QUEUE_PREFIX } from '@berth/contracts';
import { Queue } from 'bullmq';
import { RedisRepository } from './redis.repository';
import { ClosableRedisConnection } from '@berth/queueing';

/** BullMQ writes "<prefix>:<queue>:meta" for every queue that ever held a job: host queues are found by it. */
const HOST_QUEUE_META_PATTERN = `${QUEUE_PREFIX}:host.*:meta`;
const HOST_QUEUE_META = new RegExp(`^${QUEUE_PREFIX}:host\\.(.+):meta$`);
const SCAN_COUNT = 1_000;
/** A listing gives up on Redis after this long (the board keeps the queues it had). */
const SCAN_TIMEOUT_MS = 5_000;

/**
 * Queues for the Bull Board, on the controller's shared Redis connection: host queues are created per host on
 * first use, so they are listed from Redis (SCAN, O(keys) per listing, done at most every few seconds), not known
 * up front. Queue objects are cached key builders, like the other queue repositories'.
 */
@Injectable()
export class QueueBoardRepository implements OnModuleDestroy {
  private readonly queues = new Map<string, Queue>();

  constructor(private readonly redis: RedisRepository) {}

  /** Host ids of every host queue in Redis (of any deployment sharing it). */
  async hostQueueIds(): Promise<string[]> {
    if (!this.redis.isReady()) throw new Error('Redis is not reachable');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Redis did not answer within ${SCAN_TIMEOUT_MS} ms`)), SCAN_TIMEOUT_MS);
    });
    try {
      return await Promise.race([this.scanHostQueueIds(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  queue(name: string): Queue {
    let queue = this.queues.get(name);
    if (queue === undefined) {
      queue = new Queue(name, { connection: this.redis.connection, prefix: QUEUE_PREFIX }, ClosableRedisConnection);
      queue.on('error', () => undefined);
      this.queues.set(name, queue);
    }
    return queue;
  }

  async onModuleDestroy(): Promise<void> {
    const queues = [...this.queues.values()];
    this.queues.clear();
    await Promise.allSettled(queues.map((queue) => queue.close()));
  }

  private async scanHostQueueIds(): Promise<string[]> {
    const ids = new Set<string>();
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.connection.scan(cursor, 'MATCH', HOST_QUEUE_META_PATTERN, 'COUNT', SCAN_COUNT);
      cursor = next;
      for (const key of keys) {
        const id = HOST_QUEUE_META.exec(key)?.[1];
        if (id !== undefined) ids.add(id);
      }
    } while (cursor !== '0');
    return [...ids];
  }
}
