/**
 * How long ioredis waits, when a connection is closed, for a socket that has already failed or been cut (Redis not
 * answering, a connection the server killed) before dropping it. Its default, 2 s, held a stopping controller or agent
 * (and, for BullMQ, the blocking connection it copies from each worker's) open for nothing. A live connection is
 * closed by quit() and does not wait on this.
 */
export const REDIS_DISCONNECT_TIMEOUT_MS = 100;
