export { ClosableRedisConnection } from './closable-redis-connection';
