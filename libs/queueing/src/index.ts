export { ClosableRedisConnection } from './closable-redis-connection';
export { ClosableWorker } from './closable-worker';
export { REDIS_DISCONNECT_TIMEOUT_MS } from './redis-options';
