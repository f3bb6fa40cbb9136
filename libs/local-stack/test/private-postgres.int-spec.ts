// startPrivatePostgres against the real binaries: a server of the test's own, crashed and started again on its port.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { LocalStackError, startPrivatePostgres, type PrivatePostgres } from '../src';
import { probePostgres } from '../src/postgres/probe';

// initdb and a server start take seconds; Jest applies only the global testTimeout (5 s by default).
jest.setTimeout(120_000);

async function query<T>(url: string, sql: string): Promise<T[]> {
  const client = new Client({ connectionString: url });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end().catch(() => undefined);
  }
}

describe('startPrivatePostgres', () => {
  let dir: string;
  let postgres: PrivatePostgres | undefined;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-private-postgres-'));
  });

  afterEach(async () => {
    await postgres?.stop('SIGINT');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('keeps every commit it acknowledged through an immediate shutdown, and starts again on its port', async () => {
    postgres = await startPrivatePostgres({ dir, database: 'crash_test' });
    await query(postgres.url, 'CREATE TABLE acknowledged (n integer)');
    await query(postgres.url, 'INSERT INTO acknowledged SELECT generate_series(1, 1000)');
    const [settings] = await query<{ fsync: string; synchronous_commit: string }>(postgres.url, "SELECT current_setting('fsync') AS fsync, current_setting('synchronous_commit') AS synchronous_commit");
    expect(settings).toEqual({ fsync: 'on', synchronous_commit: 'on' });

    await postgres.stop('SIGQUIT'); // no checkpoint: the next start replays the WAL
    expect(postgres.running).toBe(false);
    expect((await probePostgres(postgres.url, 1_000)).state).toBe('unreachable');

    await postgres.start();
    expect(postgres.running).toBe(true);
    const [count] = await query<{ n: string }>(postgres.url, 'SELECT count(*) AS n FROM acknowledged');
    expect(count?.n).toBe('1000');
    expect(fs.readFileSync(path.join(dir, 'data.log'), 'utf8')).toMatch(/database system was interrupted|redo starts at/);
  });

  it('refuses a second start of a running server, and says so when it is stopped while starting', async () => {
    postgres = await startPrivatePostgres({ dir, database: 'lifecycle_test' });
    await expect(postgres.start()).rejects.toThrow(/already running/);
    await postgres.stop('SIGINT');

    // start() spawns the server before its first wait: the stop comes while it is starting.
    const starting = postgres.start();
    await postgres.stop('SIGINT');
    await expect(starting).rejects.toThrow(LocalStackError);
    await expect(starting).rejects.toThrow(/stopped while starting/);
    // Nothing of the stopped start is left holding the server: it can start again.
    await postgres.start();
    expect((await probePostgres(postgres.url, 1_000)).state).toBe('ready');
  });
});
