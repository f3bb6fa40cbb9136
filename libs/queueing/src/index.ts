export { ClosableRedisConnection } from './closable-redis-connection';
export { ClosableWorker } from './closable-worker';
