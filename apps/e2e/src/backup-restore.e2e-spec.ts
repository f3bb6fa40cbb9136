import { promises as fs } from 'node:fs';
import path from 'node:path';
import { type RunResponse } from '@berth/contracts';
import { compareTrees, formatDifferences, generateSampleTree, mutateSampleTree, type SampleTreeSummary } from '@berth/harness';
import { type FleetSuite, startFleetSuite } from './support/fleet-suite';

// Controller, receiver and agent as real processes on PostgreSQL and Redis: a tree holding every case a
// backup must keep goes through a backup, an incremental backup and restores, and comes back identical.
describe('backup and restore end to end', () => {
  let suite: FleetSuite;
  let source: string;
  let tree: SampleTreeSummary;
  let hostId: string;
  let firstRun: RunResponse;
  let secondRun: RunResponse;

  beforeAll(async () => {
    suite = await startFleetSuite('keep');
    source = path.join(suite.work, 'source');
    tree = await generateSampleTree(source, { seed: 11, smallFiles: 1500, largeFiles: 2, largeFileBytes: 3 * 1024 * 1024, edgeCases: true });
    // Things the host's excludes must keep out of the snapshot.
    await fs.writeFile(path.join(source, 'scratch.tmp'), 'excluded by *.tmp');
    await fs.mkdir(path.join(source, 'cache', 'deeper'), { recursive: true });
    await fs.writeFile(path.join(source, 'cache', 'deeper', 'blob'), 'excluded by an anchored pattern');
    const { host } = await suite.fleet.addHostWithAgent({ name: 'e2e-keep', paths: [source], excludes: ['*.tmp', `${source}/cache`] });
    hostId = host.id;
  }, 180_000);

  afterAll(async () => {
    await suite?.stop();
  });

  async function backup(): Promise<RunResponse> {
    const queued = await suite.fleet.api.startBackup(hostId);
    expect(queued.status).toBe('queued');
    return suite.fleet.api.waitForRun(queued.id, { timeoutMs: 150_000 });
  }

  /** The run's backup session end line in the receiver's log (it may come just after the run's end). */
  async function sessionEnd(runId: string): Promise<string> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const line = (await suite.fleet.receiver.logs()).split('\n').find((l) => l.includes(` end host=${hostId} run=${runId} role=backup`));
      if (line !== undefined || Date.now() > deadline) return line ?? '';
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  const digestsReceived = (line: string): number => Number(/ digestsReceived=(\d+)/.exec(line)?.[1] ?? Number.NaN);

  async function restore(snapshotId: string, target: string, subPath?: string): Promise<RunResponse> {
    const queued = await suite.fleet.api.restore(snapshotId, { targetDir: target, ...(subPath !== undefined ? { subPath } : {}) });
    expect(queued.kind).toBe('restore');
    return suite.fleet.api.waitForRun(queued.id, { timeoutMs: 150_000 });
  }

  it('backs up the whole tree and restores it identical: content, metadata, links, raw names, depth, specials', async () => {
    expect(tree.skipped).toEqual([]);
    firstRun = await backup();
    expect(firstRun.error).toBeNull();
    expect(firstRun.status).toBe('succeeded');
    expect(firstRun.snapshotId).not.toBeNull();
    expect(firstRun.counters.bytesSent).toBeGreaterThanOrEqual(tree.bytes / 2);
    // A first backup: the receiver has nothing to match directory digests against and says so; the agent sends none.
    expect(digestsReceived(await sessionEnd(firstRun.id))).toBe(0);
    // The agent measured where the attempt spent its time, in order, without gaps.
    const phases = firstRun.attemptHistory[0]?.phases ?? [];
    expect(phases.map((phase) => phase.name)).toEqual(['prepare', 'connect', 'admission', 'transfer']);
    for (const [i, phase] of phases.entries()) {
      expect(Date.parse(phase.endedAt)).toBeGreaterThanOrEqual(Date.parse(phase.startedAt));
      if (i > 0) expect(phase.startedAt).toBe(phases[i - 1]?.endedAt);
    }

    const snapshots = await suite.fleet.api.listSnapshots(hostId);
    expect(snapshots.map((s) => s.id)).toEqual([firstRun.snapshotId]);

    const target = path.join(suite.work, 'restore-1');
    const restored = await restore(firstRun.snapshotId ?? '', target);
    expect(restored.error).toBeNull();
    expect(restored.status).toBe('succeeded');
    expect(restored.attemptHistory[0]?.phases.map((phase) => phase.name)).toEqual(['prepare', 'connect', 'admission', 'restore']);

    const comparison = await compareTrees(source, path.join(target, source));
    const differences = comparison.differences.map((d) => `${d.kind} ${d.path}`);
    // Only what the excludes kept out differs.
    expect(differences.sort()).toEqual(['missing cache', 'missing cache/deeper', 'missing cache/deeper/blob', 'missing scratch.tmp']);
    expect(comparison.mtime.exact).toBe(comparison.mtime.compared);
    expect(comparison.files).toBeGreaterThan(1500);

    // The sparse file keeps its holes: far fewer blocks allocated than its size.
    const sparse = await fs.stat(path.join(target, source, 'sparse.bin'));
    expect(sparse.size).toBe(8 * 1024 * 1024);
    expect(sparse.blocks * 512).toBeLessThan(1024 * 1024);
  }, 300_000);

  it('sends only what changed on the next backup, and its snapshot restores to the changed tree', async () => {
    await fs.rm(path.join(source, 'scratch.tmp'));
    await fs.rm(path.join(source, 'cache'), { recursive: true });
    await mutateSampleTree(source, { seed: 12 });
    const second = await backup();
    secondRun = second;
    expect(second.status).toBe('succeeded');
    expect(second.snapshotId).not.toEqual(firstRun.snapshotId);
    // Unchanged files are reused by the quick check: far less crosses the wire than the first time.
    expect(second.counters.bytesSent).toBeLessThan(firstRun.counters.bytesSent / 2);
    // With a previous snapshot, directories are named by their digests first.
    expect(digestsReceived(await sessionEnd(second.id))).toBeGreaterThan(0);

    const target = path.join(suite.work, 'restore-2');
    expect((await restore(second.snapshotId ?? '', target)).status).toBe('succeeded');
    const comparison = await compareTrees(source, path.join(target, source));
    expect(formatDifferences(comparison)).toBe('');
  }, 300_000);

  it('restores a sub-path only', async () => {
    const target = path.join(suite.work, 'restore-sub');
    const subPath = path.join(source, 'nested');
    expect((await restore(secondRun.snapshotId ?? '', target, subPath)).status).toBe('succeeded');
    const comparison = await compareTrees(subPath, path.join(target, subPath));
    expect(formatDifferences(comparison)).toBe('');
    // Nothing outside the sub-path was written.
    expect(await fs.readdir(path.join(target, source))).toEqual(['nested']);
  }, 300_000);
});
