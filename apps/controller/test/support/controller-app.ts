import { createTestDatabase, type TestDatabase } from '@berth/local-stack';
import { agentRedisUsername, hostQueueName, type JobData, QUEUE_PREFIX } from '@berth/contracts';
import { type INestApplication } from '@nestjs/common';
import { type Job, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import request from 'supertest';
import { type App } from 'supertest/types';
import type TestAgent from 'supertest/lib/agent';
import { createControllerApp } from '../../src/app.factory';
import { type ControllerConfig, parseControllerConfig } from '../../src/config/controller-config';

export const RECEIVER_TOKEN = 'test-receiver-token-0123456789';
/** The bootstrap admin token of every in-process test controller (each suite has a database of its own). */
export const ADMIN_TOKEN = 'bt_test-admin-token-0123456789abcdefghijklmnop';

/** supertest on the app, authenticated as `token`; an agent route's `.set(agent.auth)` replaces the header. */
export type ApiAgent = TestAgent;

export function apiAs(http: App, token: string): ApiAgent {
  return request.agent(http).set('Authorization', `Bearer ${token}`);
}

/** The real controller (real AppModule, PostgreSQL, Redis) in-process, on a database of its own. */
export interface ControllerHarness {
  readonly app: INestApplication;
  readonly http: App;
  /** The operator API as the bootstrap admin. */
  readonly api: ApiAgent;
  readonly config: ControllerConfig;
  readonly database: TestDatabase;
  /** A host name no other suite or test uses. */
  hostName(prefix: string): string;
  /** The BullMQ job of a run, read straight from Redis. */
  job(hostId: string, runId: string): Promise<Job<JobData> | undefined>;
  /** SQL on the suite's database, for what the API deliberately cannot do (revoking a credential). */
  sql(text: string, values?: unknown[]): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

export function testEnvironment(overrides: Record<string, string> = {}): ControllerConfig {
  return parseControllerConfig({
    DATABASE_URL: required('DATABASE_URL'),
    REDIS_URL: required('REDIS_URL'),
    BERTH_RECEIVER_TOKEN: RECEIVER_TOKEN,
    BERTH_ADMIN_TOKEN: ADMIN_TOKEN,
    BERTH_RECEIVER_ADDRESS: '127.0.0.1:7443',
    // Suites drive runs through the agent API without a worker taking the jobs (a state no real agent creates),
    // so the periodic reconciler is off; the reconciler suite calls it explicitly.
    BERTH_RECONCILE_INTERVAL_MS: '0',
    ...overrides,
  });
}

/** The controller app on a given configuration, initialised but not listening (supertest needs no port). */
export async function startApp(config: ControllerConfig): Promise<{ app: INestApplication; http: App; api: ApiAgent }> {
  const app = await createControllerApp(config, { logLevels: false });
  await app.init();
  const http = app.getHttpServer() as App;
  return { app, http, api: apiAs(http, ADMIN_TOKEN) };
}

export async function startController(overrides: Record<string, string> = {}): Promise<ControllerHarness> {
  const database = await createTestDatabase();
  const config = testEnvironment({ DATABASE_URL: database.url, ...overrides });
  const { app, http, api } = await startApp(config);
  // Jobs are inspected on the run's Redis even when the app under test was given an unreachable one.
  const redisUrl = required('REDIS_URL');
  const queues = new Map<string, Queue<JobData>>();
  const suffix = randomBytes(3).toString('hex');
  const queueOf = (hostId: string): Queue<JobData> => {
    let queue = queues.get(hostId);
    if (queue === undefined) {
      queue = new Queue<JobData>(hostQueueName(hostId), { connection: { url: redisUrl }, prefix: QUEUE_PREFIX });
      queues.set(hostId, queue);
    }
    return queue;
  };
  return {
    app,
    http,
    api,
    config,
    database,
    hostName: (prefix) => `${prefix}-${suffix}`,
    job: async (hostId, runId) => queueOf(hostId).getJob(runId),
    sql: async (text, values = []) => {
      const client = new Client({ connectionString: database.url });
      await client.connect();
      try {
        return (await client.query(text, values)).rows as Record<string, unknown>[];
      } finally {
        await client.end();
      }
    },
    close: async () => {
      // Every host queue the suite's runs went to, whether or not the test looked at it.
      const client = new Client({ connectionString: database.url });
      await client.connect();
      const hosts = (await client.query<{ id: string }>('SELECT id FROM hosts')).rows;
      await client.end();
      for (const { id } of hosts) queueOf(id);
      await app.close();
      for (const queue of queues.values()) {
        await queue.obliterate({ force: true });
        await queue.close();
      }
      // The hosts' Redis ACL users (the database goes, so must they).
      const redis = new Redis(redisUrl);
      try {
        for (const { id } of hosts) await redis.call('ACL', 'DELUSER', agentRedisUsername(id));
      } finally {
        await redis.quit();
      }
      await database.drop();
    },
  };
}

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') {
    throw new Error(`${name} is not set: run the integration tests with jest from the repository root (its global setup provides it)`);
  }
  return value;
}
