import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type HostResponse, type RunResponse, type SnapshotResponse } from '@berth/contracts';
import { compareTrees, type Fleet, formatDifferences, generateSampleTree, startFleet } from '@berth/harness';
import { createTestDatabase, type TestDatabase } from '@berth/local-stack';
import { runBerth } from './run-berth';

// The built CLI (`node bin/berth.js`, as `npm test` builds it first) against real controller, receiver and
// agent processes on PostgreSQL and Redis from the Jest global setup.
describe('berth CLI against a running fleet', () => {
  let work: string;
  let database: TestDatabase;
  let fleet: Fleet;
  let url: string;
  let source: string;
  let succeededRunId: string;

  beforeAll(async () => {
    work = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-cli-int-'));
    database = await createTestDatabase();
    fleet = await startFleet({
      workDir: path.join(work, 'fleet'),
      stack: { databaseUrl: process.env['DATABASE_URL'] ?? '', redisUrl: process.env['REDIS_URL'] ?? '' },
      migratedDatabaseUrl: database.url,
    });
    url = fleet.controller.url;
    source = path.join(work, 'source');
    await generateSampleTree(source, { seed: 4, smallFiles: 300, largeFiles: 1, largeFileBytes: 2 * 1024 * 1024 });
  }, 120_000);

  afterAll(async () => {
    await fleet?.stop();
    await database?.drop();
    await fs.rm(work, { recursive: true, force: true });
  });

  it('adds a host, printing its enrollment secret and the agent command', async () => {
    const added = await runBerth(['host', 'add', 'cli-web', '--path', source, '--exclude', '*.tmp'], fleet.controller);
    expect(added.code).toBe(0);
    const secret = /enrollment secret:\s+(\S+)/.exec(added.stdout)?.[1];
    expect(secret).toBeDefined();
    expect(added.stdout).toContain(`berth agent --controller ${url} --enroll-secret ${secret ?? ''}`);
    await fleet.startAgent('cli-web', secret);


    const hosts = await runBerth(['hosts', '--json'], fleet.controller);
    expect(hosts.code).toBe(0);
    const listed = JSON.parse(hosts.stdout) as HostResponse[];
    expect(listed.map((h) => [h.name, h.paths, h.excludes, h.enrolled])).toEqual([['cli-web', [source], ['*.tmp'], true]]);
    const table = await runBerth(['hosts'], fleet.controller);
    expect(table.stdout).toMatch(new RegExp(`^cli-web\\s+${listed[0]?.id ?? ''}\\s+online\\s+yes`, 'm'));
  }, 60_000);

  it('backs up with --wait, lists runs and snapshots, restores with --wait, and the restore matches', async () => {
    const backup = await runBerth(['backup', 'cli-web', '--wait', '--json'], fleet.controller);
    expect(backup.stderr).toBe('');
    expect(backup.code).toBe(0);
    const run = JSON.parse(backup.stdout) as RunResponse;
    expect(run.status).toBe('succeeded');
    succeededRunId = run.id;
    expect(run.snapshotId).not.toBeNull();

    const runs = await runBerth(['runs', 'cli-web'], fleet.controller);
    expect(runs.code).toBe(0);
    expect(runs.stdout).toMatch(new RegExp(`^${run.id}\\s+cli-web\\s+backup\\s+succeeded`, 'm'));
    const detail = await runBerth(['run', run.id], fleet.controller);
    expect(detail.stdout).toMatch(/^status:\s+succeeded$/m);

    const snapshots = JSON.parse((await runBerth(['snapshots', 'cli-web', '--json'], fleet.controller)).stdout) as SnapshotResponse[];
    expect(snapshots.map((s) => s.id)).toEqual([run.snapshotId]);

    const target = path.join(work, 'restore');
    const restore = await runBerth(['restore', run.snapshotId ?? '', '--to', target, '--wait'], fleet.controller);
    expect(restore.code).toBe(0);
    expect(restore.stdout).toMatch(/^status:\s+succeeded$/m);
    const comparison = await compareTrees(source, path.join(target, source));
    expect(formatDifferences(comparison)).toBe('');
  }, 120_000);

  it('answers mistakes with one line that says what to do, and a non-zero exit code', async () => {
    expect(await runBerth(['backup', 'no-such-host'], fleet.controller)).toEqual({ code: 1, stdout: '', stderr: 'berth: no host named no-such-host; list hosts with `berth hosts`\n' });
    const duplicate = await runBerth(['host', 'add', 'cli-web', '--path', '/srv'], fleet.controller);
    expect(duplicate.code).toBe(1);
    expect(duplicate.stderr).toBe('berth: Host "cli-web" already exists\n');
    const invalid = await runBerth(['host', 'add', 'bad name!', '--path', '/srv'], fleet.controller);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(/^berth: .*name must be 1 to 63 letters/);
    const missingSnapshot = await runBerth(['restore', '00000000-0000-4000-8000-000000000000', '--to', '/tmp/x'], fleet.controller);
    expect(missingSnapshot.stderr).toBe('berth: no snapshot with id 00000000-0000-4000-8000-000000000000; list them with `berth snapshots HOST`\n');
  }, 60_000);

  it('retries a failed run with --wait, showing its attempts, and refuses to retry a published one', async () => {
    const added = await runBerth(['host', 'add', 'cli-gone', '--path', path.join(work, 'never-created')], fleet.controller);
    await fleet.startAgent('cli-gone', /enrollment secret:\s+(\S+)/.exec(added.stdout)?.[1]);
    const failed = await runBerth(['backup', 'cli-gone', '--wait'], fleet.controller);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/berth: backup run \S+ failed: nothing_to_back_up: /);
    const [run] = JSON.parse((await runBerth(['runs', 'cli-gone', '--json'], fleet.controller)).stdout) as RunResponse[];
    const runId = run?.id ?? '';

    // The path is still missing, so attempt 2 fails too: same exit code and message as backup --wait.
    const retried = await runBerth(['retry', runId, '--wait'], fleet.controller);
    expect(retried.code).toBe(1);
    expect(retried.stderr.split('\n')[0]).toBe(`backup run ${runId} queued again for cli-gone: attempt 2 starts from the beginning (no directory was committed yet)`);
    expect(retried.stderr).toMatch(new RegExp(`berth: backup run ${runId} failed: nothing_to_back_up: `));
    expect(retried.stdout).toMatch(/^attempts:\s+2$/m);
    expect(retried.stdout).toMatch(/Attempts \(2\):\n {2}#\s+STARTED\s+TIME\s+OUTCOME\s+RESUMED FROM\s+SENT\s+RESENT\s+END REASON\n {2}1\s.*failed\s+\(start\)\s.*nothing_to_back_up: .*\n {2}2\s.*failed\s/);

    const published = await runBerth(['retry', succeededRunId], fleet.controller);
    expect(published.code).toBe(1);
    expect(published.stderr).toMatch(new RegExp(`^berth: Backup run ${succeededRunId} succeeded and published snapshot \\S+; there is nothing to retry \\(start a new backup of cli-web instead\\)\n$`));
    expect(await runBerth(['retry', '00000000-0000-4000-8000-000000000000'], fleet.controller)).toEqual({ code: 1, stdout: '', stderr: 'berth: no run with id 00000000-0000-4000-8000-000000000000; list runs with `berth runs`\n' });
  }, 120_000);
});
