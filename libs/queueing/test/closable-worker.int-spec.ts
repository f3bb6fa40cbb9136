import { Worker } from 'bullmq';
import { type EventEmitter } from 'node:events';
import { type AddressInfo, createServer } from 'node:net';
import { Redis } from 'ioredis';
import { ClosableRedisConnection } from '../src/closable-redis-connection';
import { ClosableWorker } from '../src/closable-worker';

/** A port nothing listens on: every connection attempt is refused, as with Redis down. */
async function refusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const blockingOf = (worker: Worker): EventEmitter => (worker as unknown as { blockingConnection: EventEmitter }).blockingConnection;

describe('ClosableWorker', () => {
  let client: Redis;

  beforeEach(async () => {
    client = new Redis(await refusedPort(), '127.0.0.1', { maxRetriesPerRequest: null });
    client.on('error', () => undefined);
  });

  afterEach(() => client.disconnect());

  // The injected fault: the 'error' a blocking connection still connecting reports after the worker closed (its
  // first attempt failing once the client is dropped), which under load arrives after BullMQ dropped its listeners.
  const lateError = new Error('connect ECONNREFUSED (after close)');

  it("drops its blocking connection's errors once closed, where BullMQ's Worker throws them", async () => {
    const plain = new Worker('closable-worker-test', () => Promise.resolve(), { connection: client, autorun: false }, ClosableRedisConnection);
    plain.on('error', () => undefined);
    await plain.close();
    expect(() => blockingOf(plain).emit('error', lateError)).toThrow(/ECONNREFUSED \(after close\)/);

    const closable = new ClosableWorker('closable-worker-test', () => Promise.resolve(), { connection: client, autorun: false });
    closable.on('error', () => undefined);
    await closable.close();
    expect(blockingOf(closable).emit('error', lateError)).toBe(false);
  });

  it("still forwards the blocking connection's errors to the worker while it is open", async () => {
    const worker = new ClosableWorker('closable-worker-test', () => Promise.resolve(), { connection: client, autorun: false });
    const seen: string[] = [];
    worker.on('error', (error) => seen.push(error.message));
    expect(blockingOf(worker).emit('error', new Error('refused while open'))).toBe(true);
    expect(seen).toContain('refused while open');
    await worker.close();
  });
});
