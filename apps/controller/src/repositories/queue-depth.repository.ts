import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { hostQueueName, QUEUE_PREFIX } from '@berth/contracts';
import { Queue } from 'bullmq';
import { RedisRepository } from './redis.repository';
import { ClosableRedisConnection } from '@berth/queueing';

/** The job states /metrics reports, as BullMQ names them. */
export const QUEUE_STATES = ['waiting', 'prioritized', 'active', 'delayed', 'failed', 'completed', 'paused', 'waiting-children'] as const;
export type QueueState = (typeof QUEUE_STATES)[number];

/** A scrape gives up on Redis after this long (the other metrics are still served). */
const COUNT_TIMEOUT_MS = 5_000;
/** Host queues counted at once. */
const COUNT_BATCH = 100;

/**
 * Job counts summed over every host queue, for /metrics. Reads go through the controller's one shared Redis
 * connection (no blocking connection, no connection per host); the Queue objects are only key builders and are
 * cached. One getJobCounts (a single Lua call) per host queue, 100 in flight at a time: O(hosts) Redis calls per
 * scrape, fine for a fleet of hundreds, to revisit (a counter kept by the controller) for many thousands.
 */
@Injectable()
export class QueueDepthRepository implements OnModuleDestroy {
  private readonly queues = new Map<string, Queue>();

  constructor(private readonly redis: RedisRepository) {}

  /** Summed counts per state; null when Redis is not reachable or too slow. */
  async countJobs(hostIds: readonly string[]): Promise<Record<QueueState, number> | null> {
    if (!this.redis.isReady()) return null;
    const totals = Object.fromEntries(QUEUE_STATES.map((state) => [state, 0])) as Record<QueueState, number>;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), COUNT_TIMEOUT_MS);
    });
    const counting = (async (): Promise<Record<QueueState, number>> => {
      // Batches of concurrent calls: they share the one connection (sent back to back, answered in order).
      for (let start = 0; start < hostIds.length; start += COUNT_BATCH) {
        const batch = hostIds.slice(start, start + COUNT_BATCH);
        for (const counts of await Promise.all(batch.map((hostId) => this.queueFor(hostId).getJobCounts(...QUEUE_STATES)))) {
          for (const state of QUEUE_STATES) totals[state] += counts[state] ?? 0;
        }
      }
      return totals;
    })();
    try {
      return await Promise.race([counting, timeout]);
    } catch {
      return null;
    } finally {
      clearTimeout(timer);
    }
  }

  async onModuleDestroy(): Promise<void> {
    const queues = [...this.queues.values()];
    this.queues.clear();
    await Promise.allSettled(queues.map((queue) => queue.close()));
  }

  private queueFor(hostId: string): Queue {
    let queue = this.queues.get(hostId);
    if (queue === undefined) {
      queue = new Queue(hostQueueName(hostId), { connection: this.redis.connection, prefix: QUEUE_PREFIX }, ClosableRedisConnection);
      queue.on('error', () => undefined);
      this.queues.set(hostId, queue);
    }
    return queue;
  }
}
