import Redis from 'ioredis';

export type RedisProbe = { state: 'ready' } | { state: 'unreachable'; reason: string };

/** Connects to `url` (credentials, database number and rediss:// honoured) and sends PING. */
export async function probeRedis(url: string, timeoutMs: number): Promise<RedisProbe> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null, // one attempt: this is a probe
  });
  client.on('error', () => undefined); // reported through connect() / ping() below
  try {
    await client.connect();
    await client.ping();
    return { state: 'ready' };
  } catch (error) {
    return { state: 'unreachable', reason: error instanceof Error ? error.message : String(error) };
  } finally {
    // A failed attempt has already ended; disconnecting it again would arm ioredis' 2 s close timer.
    if (client.status !== 'end') client.disconnect();
  }
}
