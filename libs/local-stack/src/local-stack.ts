// PostgreSQL and Redis for `berth demo` and the test run: the ones named by DATABASE_URL / REDIS_URL when
// they answer, else private ones started here (embedded PostgreSQL, a local redis-server), stopped again
// by stop(). Only what was started here is stopped.
import fs from 'node:fs';
import { describeServiceUrl } from './database-url';
import { type LocalStackLog, logToStderr } from './log';
import { startEmbeddedPostgres } from './postgres/embedded-postgres';
import { createDatabaseIfMissing, probePostgres } from './postgres/probe';
import { probeRedis } from './redis/probe';
import { startLocalRedis } from './redis/local-redis';
import { defaultStateDir } from './repository-root';

export interface LocalStack {
  readonly databaseUrl: string;
  readonly redisUrl: string;
  /** Stops the services this call started (none when both came from the environment). */
  stop(): Promise<void>;
}

export interface LocalStackOptions {
  /** Where private services keep their state; default `<repository>/.berth` (git-ignored). */
  readonly stateDir?: string;
  /** Database of the embedded PostgreSQL to create and return; default `berth`. */
  readonly database?: string;
  readonly log?: LocalStackLog;
  /** Source of DATABASE_URL and REDIS_URL; default process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** How long a service named by the environment gets to answer; default 2000 ms. */
  readonly probeTimeoutMs?: number;
}

interface Service {
  readonly url: string;
  stop(): Promise<void>;
}

const noop = (): Promise<void> => Promise.resolve();

export async function ensureLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const env = options.env ?? process.env;
  const log = options.log ?? logToStderr;
  const stateDir = options.stateDir ?? defaultStateDir();
  const probeTimeoutMs = options.probeTimeoutMs ?? 2_000;
  const database = options.database ?? 'berth';

  const [postgresDecision, redisDecision] = await Promise.all([
    env['DATABASE_URL'] ? probePostgres(env['DATABASE_URL'], probeTimeoutMs) : Promise.resolve(null),
    env['REDIS_URL'] ? probeRedis(env['REDIS_URL'], probeTimeoutMs) : Promise.resolve(null),
  ]);

  let postgres: Service;
  const configuredDatabaseUrl = env['DATABASE_URL'];
  if (configuredDatabaseUrl && postgresDecision && postgresDecision.state !== 'unreachable') {
    if (postgresDecision.state === 'missing-database') await createDatabaseIfMissing(configuredDatabaseUrl);
    const created = postgresDecision.state === 'missing-database' ? ' (database created)' : '';
    log(`using PostgreSQL at ${describeServiceUrl(configuredDatabaseUrl)} from DATABASE_URL${created}`);
    postgres = { url: configuredDatabaseUrl, stop: noop };
  } else {
    if (configuredDatabaseUrl && postgresDecision?.state === 'unreachable') {
      log(`DATABASE_URL (${describeServiceUrl(configuredDatabaseUrl)}) does not answer (${postgresDecision.reason}); starting embedded PostgreSQL`);
    }
    fs.mkdirSync(stateDir, { recursive: true });
    postgres = await startEmbeddedPostgres({ stateDir, database, log });
  }

  let redis: Service;
  const configuredRedisUrl = env['REDIS_URL'];
  try {
    if (configuredRedisUrl && redisDecision?.state === 'ready') {
      log(`using Redis at ${describeServiceUrl(configuredRedisUrl)} from REDIS_URL`);
      redis = { url: configuredRedisUrl, stop: noop };
    } else {
      if (configuredRedisUrl && redisDecision?.state === 'unreachable') {
        log(`REDIS_URL (${describeServiceUrl(configuredRedisUrl)}) does not answer (${redisDecision.reason}); starting redis-server`);
      }
      fs.mkdirSync(stateDir, { recursive: true });
      redis = await startLocalRedis({ stateDir, log });
    }
  } catch (error) {
    await postgres.stop();
    throw error;
  }

  return {
    databaseUrl: postgres.url,
    redisUrl: redis.url,
    stop: async () => {
      await Promise.all([redis.stop(), postgres.stop()]);
    },
  };
}
