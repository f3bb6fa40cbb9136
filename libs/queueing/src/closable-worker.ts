import { type Processor, Worker, type WorkerOptions } from 'bullmq';
import { type EventEmitter } from 'node:events';
import { ClosableRedisConnection } from './closable-redis-connection';

/**
 * BullMQ's Worker, safe to close while Redis does not answer. Its connections are ClosableRedisConnections, except
 * one: BullMQ builds the worker's blocking connection with its own RedisConnection class whatever class it is given.
 * BullMQ's close drops that connection's listeners; when its first connection attempt then fails (the client is
 * dropped while still connecting) it reports the failure as an 'error' event nobody listens to, which Node turns
 * into an unhandled rejection: a controller or agent stopped while Redis was unreachable could crash on its way
 * out (seen as a failing test on a loaded machine). An 'error' of that connection with no listener left is dropped;
 * while the worker is open its listener forwards every error to the worker's 'error' event, as before.
 */
export class ClosableWorker<DataType, ResultType = unknown, NameType extends string = string> extends Worker<DataType, ResultType, NameType> {
  constructor(name: string, processor: Processor<DataType, ResultType, NameType>, opts: WorkerOptions) {
    super(name, processor, opts, ClosableRedisConnection);
    // A private field of BullMQ's Worker: checked, so that an upgrade that renames it fails loudly here.
    const blocking = (this as unknown as { blockingConnection?: EventEmitter }).blockingConnection;
    if (blocking === undefined) throw new Error('ClosableWorker: this BullMQ Worker has no blockingConnection field; update libs/queueing for it');
    const emit = blocking.emit.bind(blocking);
    blocking.emit = (event: string | symbol, ...args: unknown[]): boolean => (event === 'error' && blocking.listenerCount('error') === 0 ? false : emit(event, ...args));
  }
}
