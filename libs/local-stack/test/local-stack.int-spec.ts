// ensureLocalStack against real services: it uses the ones the environment names when they answer,
// otherwise starts embedded PostgreSQL 18 and redis-server, and stop() stops only what it started.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Redis from 'ioredis';
import { Client } from 'pg';
import { ensureLocalStack } from '../src';
import { probePostgres } from '../src/postgres/probe';
import { ensureTemplateDatabase } from '../src/template-database';
import { probeRedis } from '../src/redis/probe';

// Each Prisma CLI call or server start takes seconds; Jest applies only the global testTimeout (5 s by
// default), not the integration project's.
jest.setTimeout(120_000);

const environment = (): { DATABASE_URL: string; REDIS_URL: string } => {
  const { DATABASE_URL, REDIS_URL } = process.env;
  if (!DATABASE_URL || !REDIS_URL) throw new Error('DATABASE_URL and REDIS_URL are set by the Jest global setup');
  return { DATABASE_URL, REDIS_URL };
};

async function serverVersion(url: string): Promise<string> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ server_version: string }>('SHOW server_version');
    return rows[0]?.server_version ?? '';
  } finally {
    await client.end();
  }
}

async function redisMaxmemoryPolicy(url: string): Promise<string | undefined> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    const reply = (await redis.config('GET', 'maxmemory-policy')) as string[];
    return reply[1];
  } finally {
    redis.disconnect();
  }
}

describe('ensureLocalStack', () => {
  let stateDir: string;
  let lines: string[];
  const log = (line: string): void => {
    lines.push(line);
  };

  beforeEach(() => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-stack-'));
    fs.chmodSync(stateDir, 0o755); // as root, PostgreSQL runs as "postgres", which must enter it
    lines = [];
  });

  afterEach(() => fs.rmSync(stateDir, { recursive: true, force: true }));

  it('uses the services named by DATABASE_URL and REDIS_URL when they answer, and leaves them running', async () => {
    const started = Date.now();
    const stack = await ensureLocalStack({ env: environment(), stateDir, log });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(stack.databaseUrl).toBe(environment().DATABASE_URL);
    expect(stack.redisUrl).toBe(environment().REDIS_URL);
    expect(lines).toEqual([expect.stringMatching(/^using PostgreSQL at /), expect.stringMatching(/^using Redis at /)]);
    await stack.stop();
    expect((await probePostgres(stack.databaseUrl, 2_000)).state).toBe('ready');
    expect((await probeRedis(stack.redisUrl, 2_000)).state).toBe('ready');
    expect(fs.readdirSync(stateDir)).toEqual([]); // nothing was started
  });

  it('starts embedded PostgreSQL 18 and redis-server when nothing answers, and stops both', async () => {
    const unreachable = { DATABASE_URL: 'postgresql://nobody@127.0.0.1:1/none', REDIS_URL: 'redis://127.0.0.1:1' };
    const stack = await ensureLocalStack({ env: unreachable, stateDir, log, database: 'berth_demo' });
    try {
      expect(lines[0]).toMatch(/^DATABASE_URL \(127\.0\.0\.1:1\/none\) does not answer/);
      expect(lines).toContainEqual(expect.stringMatching(/^started embedded PostgreSQL 18 on port \d+/));
      expect(lines).toContainEqual(expect.stringMatching(/^started redis-server on port \d+/));
      expect(stack.databaseUrl).toMatch(/^postgresql:\/\/postgres:[^@]+@127\.0\.0\.1:\d+\/berth_demo$/);
      expect(await serverVersion(stack.databaseUrl)).toMatch(/^18\./);
      expect(await redisMaxmemoryPolicy(stack.redisUrl)).toBe('noeviction');
      expect(fs.existsSync(path.join(stateDir, 'postgres', 'PG_VERSION'))).toBe(true);
    } finally {
      await stack.stop();
    }
    expect((await probePostgres(stack.databaseUrl, 1_000)).state).toBe('unreachable');
    expect((await probeRedis(stack.redisUrl, 1_000)).state).toBe('unreachable');

    // A second start reuses the initialised cluster (and its databases) instead of running initdb again.
    lines = [];
    const again = await ensureLocalStack({ env: {}, stateDir, log, database: 'berth_demo' });
    try {
      expect(lines[0]).toContain(`data in ${path.join(stateDir, 'postgres')}`);
      expect(await serverVersion(again.databaseUrl)).toMatch(/^18\./);
    } finally {
      await again.stop();
    }
  });

  it('gives concurrent runs separate servers, so one stopping never affects the other', async () => {
    const first = await ensureLocalStack({ env: {}, stateDir, log });
    try {
      const second = await ensureLocalStack({ env: {}, stateDir, log });
      try {
        expect(second.databaseUrl).not.toBe(first.databaseUrl);
        expect(lines.filter((line) => line.startsWith('started embedded PostgreSQL'))[1]).toContain(path.join(stateDir, 'postgres-1'));
      } finally {
        await second.stop();
      }
      expect((await probePostgres(first.databaseUrl, 2_000)).state).toBe('ready');
      expect((await probeRedis(first.redisUrl, 2_000)).state).toBe('ready');
    } finally {
      await first.stop();
    }
  });

  it('shuts down a server left running by a run that is gone, and takes its data directory back', async () => {
    const abandoned = await ensureLocalStack({ env: {}, stateDir, log });
    const ownerFile = path.join(stateDir, 'postgres', 'berth-owner.pid');
    const exited = spawnSync('true'); // a process id that no longer exists: the "killed run"
    fs.writeFileSync(ownerFile, `${exited.pid}\n`);
    lines = [];
    const next = await ensureLocalStack({ env: {}, stateDir, log });
    try {
      expect(lines[0]).toMatch(new RegExp(`^stopping embedded PostgreSQL \\(pid \\d+\\) left running in .* by process ${exited.pid}, which is gone$`));
      expect(lines[1]).toContain(`data in ${path.join(stateDir, 'postgres')},`);
      expect((await probePostgres(abandoned.databaseUrl, 1_000)).state).toBe('unreachable');
      expect(fs.readFileSync(ownerFile, 'utf8').trim()).toBe(String(process.pid));
    } finally {
      await next.stop();
      await abandoned.stop();
    }
  });

  it('builds the test template once when two runs race for it on a fresh server', async () => {
    const stack = await ensureLocalStack({ env: {}, stateDir, log });
    try {
      const [first, second] = await Promise.all([ensureTemplateDatabase(stack.databaseUrl, log), ensureTemplateDatabase(stack.databaseUrl, log)]);
      expect(first).toBe(second);
      expect(lines.filter((line) => line.startsWith('migrated test template database'))).toHaveLength(1);
      const databases = await listDatabases(stack.databaseUrl);
      expect(databases).toContain(first);
      expect(databases.filter((name) => name.endsWith('_building'))).toEqual([]);
    } finally {
      await stack.stop();
    }
  });
});

async function listDatabases(url: string): Promise<string[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<{ datname: string }>('SELECT datname FROM pg_database')).rows.map((row) => row.datname);
  } finally {
    await client.end();
  }
}
