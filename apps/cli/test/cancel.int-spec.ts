import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type RunResponse } from '@berth/contracts';
import { type Fleet, generateSampleTree, startFleet } from '@berth/harness';
import { createTestDatabase, type TestDatabase } from '@berth/local-stack';
import { runBerth } from './run-berth';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// `berth cancel` and the liveness columns of `berth hosts`, through the built CLI against real processes. The
// receiver's writes are throttled so a backup is still running when it is canceled.
describe('berth cancel and host liveness', () => {
  let work: string;
  let database: TestDatabase;
  let fleet: Fleet;

  beforeAll(async () => {
    work = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-cli-cancel-'));
    database = await createTestDatabase();
    fleet = await startFleet({
      workDir: path.join(work, 'fleet'),
      stack: { databaseUrl: process.env['DATABASE_URL'] ?? '', redisUrl: process.env['REDIS_URL'] ?? '' },
      migratedDatabaseUrl: database.url,
      receiverEnv: { BERTH_RECEIVER_WRITE_BYTES_PER_SEC: '300000', BERTH_RECEIVER_WRITE_OPS_PER_SEC: '200' },
      controllerEnv: { BERTH_AGENT_HEARTBEAT_MS: '500', BERTH_AGENT_OFFLINE_AFTER: '3', BERTH_RECONCILE_INTERVAL_MS: '1000' },
    });
  }, 120_000);

  afterAll(async () => {
    await fleet?.stop();
    await database?.drop();
    await fs.rm(work, { recursive: true, force: true });
  });

  it('cancels a queued run at once, and refuses a run that has ended with one line and exit code 1', async () => {
    // No agent for this host: its job stays in the queue.
    expect((await runBerth(['host', 'add', 'cli-idle', '--path', '/srv/idle'], fleet.controller)).code).toBe(0);
    const run = JSON.parse((await runBerth(['backup', 'cli-idle', '--json'], fleet.controller)).stdout) as RunResponse;
    expect(run.status).toBe('queued');

    const canceled = await runBerth(['cancel', run.id], fleet.controller);
    expect(canceled).toMatchObject({ code: 0, stderr: '' });
    expect(canceled.stdout).toBe(`Backup run ${run.id} of cli-idle canceled\n`);
    expect((await runBerth(['run', run.id], fleet.controller)).stdout).toMatch(/^status:\s+canceled$/m);

    const again = await runBerth(['cancel', run.id], fleet.controller);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(new RegExp(`^berth: Run ${run.id} has already ended \\(canceled at .*\\); there is nothing to cancel\\n$`));
    const unknown = await runBerth(['cancel', '6f1c0a52-0000-4000-8000-000000000000'], fleet.controller);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no run with id 6f1c0a52-0000-4000-8000-000000000000');
  }, 60_000);

  it('cancels a running backup with --wait, and lists the host offline once its agent is gone', async () => {
    const source = path.join(work, 'source');
    await generateSampleTree(source, { seed: 9, smallFiles: 1500, largeFiles: 1, largeFileBytes: 4 * 1024 * 1024 });
    const { host, agent } = await fleet.addHostWithAgent({ name: 'cli-busy', paths: [source] });
    const started = await fleet.api.startBackup(host.id);
    let run = started;
    for (let i = 0; i < 300 && run.status === 'queued'; i++) {
      await sleep(100);
      run = await fleet.api.getRun(started.id);
    }
    expect(run.status).toBe('running');

    const canceled = await runBerth(['cancel', run.id, '--wait', '--json'], fleet.controller);
    expect(canceled.code).toBe(0);
    const ended = JSON.parse(canceled.stdout) as RunResponse;
    expect(ended).toMatchObject({ id: run.id, status: 'canceled', snapshotId: null });
    expect(ended.attemptHistory[0]?.endReason).toBe('canceled at the request of bootstrap (admin)');

    expect((await runBerth(['hosts'], fleet.controller)).stdout).toMatch(/^cli-busy\s+\S+\s+online\s+yes/m);
    agent.kill();
    await agent.process.exited;
    let listing = '';
    for (let i = 0; i < 100 && !/^cli-busy\s+\S+\s+offline/m.test(listing); i++) {
      await sleep(100);
      listing = (await runBerth(['hosts'], fleet.controller)).stdout;
    }
    expect(listing).toMatch(/^cli-busy\s+\S+\s+offline\s+yes/m);
  }, 120_000);
});
