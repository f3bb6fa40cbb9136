import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { startFleet } from '../src/fleet/fleet';
import { trackedProcessIds } from '../src/process/registry';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function databaseExists(serverUrl: string, name: string): Promise<boolean> {
  const client = new Client({ connectionString: serverUrl });
  await client.connect();
  try {
    return (await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1;
  } finally {
    await client.end();
  }
}

// Real controller, receiver and agent processes (built by `npm test`) on the Jest run's PostgreSQL and Redis.
describe('startFleet', () => {
  it('starts controller, receiver and an enrolled agent on a database of its own, and stop() leaves nothing behind', async () => {
    const serverUrl = process.env['DATABASE_URL'] ?? '';
    const work = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-fleet-int-'));
    const fleet = await startFleet({ workDir: work, stack: { databaseUrl: serverUrl, redisUrl: process.env['REDIS_URL'] ?? '' }, databasePrefix: 'harness' });
    let stopped = false;
    try {
      const databaseName = new URL(fleet.databaseUrl).pathname.slice(1);
      expect(databaseName).toMatch(/^berth_harness_[0-9a-f]{12}$/);
      expect(await databaseExists(serverUrl, databaseName)).toBe(true);

      const health = await fetch(`${fleet.controller.url}/healthz`);
      expect(health.status).toBe(200);
      const { host, agent } = await fleet.addHostWithAgent({ name: 'fleet-host', paths: [work] });
      expect((await fleet.api.getHost(host.id)).enrolled).toBe(true);
      expect(await agent.logs()).toMatch(/waiting for jobs/);
      expect(await fs.readFile(path.join(fleet.logDir, 'receiver.log'), 'utf8')).toMatch(/listening/);

      // A receiver restarted by the harness, even with SIGKILL, did not end by itself: stop() reports nothing.
      await fleet.restartReceiver('SIGKILL');
      const pids = [fleet.controller.pid, fleet.receiver.pid, agent.pid];
      expect(pids.every(alive)).toBe(true);
      const written: string[] = [];
      const stderr = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
        written.push(String(chunk));
        return true;
      });
      try {
        await fleet.stop();
      } finally {
        stderr.mockRestore();
      }
      stopped = true;
      expect(written.join('')).not.toMatch(/ended by itself/);
      expect(pids.filter(alive)).toEqual([]);
      expect(trackedProcessIds().filter((pid) => pids.includes(pid))).toEqual([]);
      expect(await databaseExists(serverUrl, databaseName)).toBe(false);
      await fleet.stop(); // a second stop is harmless
    } finally {
      if (!stopped) await fleet.stop();
      await fs.rm(work, { recursive: true, force: true });
    }
  }, 120_000);

  it('says so on stderr, with the end of its log, when the receiver ended by itself before the fleet was stopped', async () => {
    const work = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-fleet-int-'));
    const fleet = await startFleet({ workDir: work, stack: { databaseUrl: process.env['DATABASE_URL'] ?? '', redisUrl: process.env['REDIS_URL'] ?? '' }, databasePrefix: 'harness' });
    const written: string[] = [];
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    try {
      // Not through the handle: as if the receiver had crashed.
      process.kill(fleet.receiver.pid, 'SIGKILL');
      await fleet.receiver.process.exited;
      await fleet.stop();
    } finally {
      stderr.mockRestore();
      await fleet.stop();
      await fs.rm(work, { recursive: true, force: true });
    }
    const report = written.join('');
    expect(report).toMatch(/receiver ended by itself while the fleet ran \(exited with SIGKILL\); log .*receiver\.log:\n[\s\S]*listening/);
    expect(report).not.toMatch(/controller ended by itself/);
  }, 120_000);
});
