import { type HealthResponse } from '@berth/contracts';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createTestDatabase, type TestDatabase } from '@berth/local-stack';
import { RECEIVER_TOKEN } from './support/controller-app';

const ROOT = join(__dirname, '..', '..', '..');
const MAIN = join(ROOT, 'apps', 'controller', 'src', 'main.ts');

/** `berth controller` as its own process (sources through @swc-node/register, so no build is needed). */
function startProcess(args: string[], env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ['-r', '@swc-node/register', MAIN, ...args], {
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '', NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function output(child: ChildProcess): { text: () => string } {
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { text: () => text };
}

async function waitFor(predicate: () => RegExpExecArray | null, timeoutMs: number, describe: () => string): Promise<RegExpExecArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = predicate();
    if (match) return match;
    if (Date.now() > deadline) throw new Error(`timed out; output so far:\n${describe()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('berth controller process', () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database.drop();
  });

  it('listens where --listen says, answers /healthz, and stops cleanly on SIGTERM', async () => {
    const child = startProcess(['--listen', '127.0.0.1:0'], { DATABASE_URL: database.url, REDIS_URL: process.env['REDIS_URL'] ?? '', BERTH_RECEIVER_TOKEN: RECEIVER_TOKEN });
    const log = output(child);
    try {
      const listening = await waitFor(() => /berth controller listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(log.text()), 30_000, log.text);
      const health = await fetch(`${listening[1]}/healthz`);
      expect(health.status).toBe(200);
      expect((await health.json()) as HealthResponse).toEqual({ status: 'ok', checks: { postgres: 'up', redis: 'up' } });

      const exited = once(child, 'exit');
      const stoppedAt = Date.now();
      child.kill('SIGTERM');
      const [code] = (await exited) as [number | null];
      expect(code).toBe(0);
      expect(Date.now() - stoppedAt).toBeLessThan(10_000);
      expect(log.text()).toContain('SIGTERM: closing HTTP server, queues and connections');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 60_000);

  it('refuses to start with a bad environment, naming the variables', async () => {
    const child = startProcess([], { DATABASE_URL: 'mysql://nope', REDIS_URL: 'redis://127.0.0.1:6379' });
    const log = output(child);
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(1);
    expect(log.text()).toContain('DATABASE_URL must be a postgresql:// or postgres:// URL');
    expect(log.text()).toContain('BERTH_RECEIVER_TOKEN is required');
  }, 60_000);
});
