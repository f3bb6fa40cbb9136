import { RedisConnection } from 'bullmq';

const ignore = (): void => undefined;

/**
 * BullMQ's connection wrapper, safe to close before it ever connected. BullMQ's close drops every listener, yet
 * a connection still connecting then fails (its socket is dropped) and reports that as an 'error' event: with no
 * listener left, Node throws it as an unhandled rejection, and a controller or agent stopped while Redis was
 * unreachable crashed on its way out. The controller's queues, producer and workers and the agent's worker are
 * all built on this class (a worker's blocking connection is BullMQ's own: see ClosableWorker).
 */
export class ClosableRedisConnection extends RedisConnection {
  override async close(force = false): Promise<void> {
    const closing = super.close(force);
    // Without a live connection super.close has already dropped every listener here (it had nothing to wait for).
    this.on('error', ignore);
    try {
      await closing;
    } finally {
      if (this.listenerCount('error') === 0) this.on('error', ignore);
    }
  }
}
