import { promises as fs } from 'node:fs';
import path from 'node:path';
import { type RunResponse } from '@berth/contracts';
import { compareTrees, formatDifferences, SeededRandom } from '@berth/harness';
import { type FleetSuite, startFleetSuite } from './support/fleet-suite';

const DIRECTORIES = 12;
const FILES_PER_DIRECTORY = 250;

/** About 3,000 small files in several directories, so directories commit one after another during the run. */
async function writeTree(root: string): Promise<{ files: number; bytes: number }> {
  const random = new SeededRandom(2026);
  let bytes = 0;
  for (let d = 0; d < DIRECTORIES; d++) {
    const dir = path.join(root, `dir-${String(d).padStart(2, '0')}`);
    await fs.mkdir(dir, { recursive: true });
    for (let f = 0; f < FILES_PER_DIRECTORY; f++) {
      const content = random.bytes(random.int(200, 4000));
      bytes += content.length;
      await fs.writeFile(path.join(dir, `file-${String(f).padStart(4, '0')}.dat`), content);
    }
  }
  return { files: DIRECTORIES * FILES_PER_DIRECTORY, bytes };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// kill -9 of the agent mid-run, then the same agent started again: BullMQ gives the job back (stalled check once
// the dead agent's lock expired), attempt 2 resumes after the last committed directory, and the snapshot it
// publishes restores identical to the source. The receiver's writes are throttled so the run lasts long enough
// to be killed after a directory committed and before the end.
describe('retry after the agent is killed mid-run', () => {
  let suite: FleetSuite;
  let source: string;
  let tree: { files: number; bytes: number };

  beforeAll(async () => {
    suite = await startFleetSuite('retry', { receiverEnv: { BERTH_RECEIVER_WRITE_BYTES_PER_SEC: '400000', BERTH_RECEIVER_WRITE_OPS_PER_SEC: '300' } });
    source = path.join(suite.work, 'source');
    tree = await writeTree(source);
  }, 180_000);

  afterAll(async () => {
    await suite?.stop();
  });

  it('resumes from the committed directories in attempt 2 and restores identical', async () => {
    const { fleet } = suite;
    const { host, agent } = await fleet.addHostWithAgent({ name: 'e2e-retry', paths: [source] });
    const queued = await fleet.api.startBackup(host.id);

    // Wait until at least one directory is committed (the checkpoint is set), then kill the agent outright.
    let seen: RunResponse = queued;
    const deadline = Date.now() + 60_000;
    while (seen.checkpoint === null && seen.status !== 'succeeded' && Date.now() < deadline) {
      await sleep(100);
      seen = await fleet.api.getRun(queued.id);
    }
    expect(seen.status).toBe('running');
    expect(seen.checkpoint).not.toBeNull();
    agent.kill();
    await agent.process.exited;
    const atKill = await fleet.api.getRun(queued.id);
    expect(atKill.status).toBe('running');
    // Files may all have been sent already (the receiver's credit covers this tree); what matters is that the
    // run was not finished: nothing published yet, so attempt 2 has uncommitted work left to do.
    expect(atKill.snapshotId).toBeNull();

    // The same agent again (its state directory keeps the credential). Its worker finds the job stalled once the
    // killed agent's lock has expired (30 s) and runs it again.
    await fleet.startAgent('e2e-retry');
    const finished = await fleet.api.waitForRun(queued.id, { timeoutMs: 150_000, pollMs: 500 });
    expect(finished.error).toBeNull();
    expect(finished.status).toBe('succeeded');
    expect(finished.attempts).toBe(2);

    const [first, second] = finished.attemptHistory;
    expect(first).toMatchObject({ number: 1, outcome: 'abandoned', resumedFrom: null });
    expect(first?.endReason).toMatch(/^abandoned: no report from the agent \(it was killed or lost its connection\)/);
    expect(second).toMatchObject({ number: 2, outcome: 'succeeded', endReason: null });
    // Attempt 2 started from what attempt 1 had committed, and did not send the whole tree again.
    expect(second?.resumedFrom).not.toBeNull();
    expect(second?.resumedFrom?.startsWith(source)).toBe(true);
    expect(second?.bytesSent).toBeLessThan(tree.bytes);

    const target = path.join(suite.work, 'restored');
    const restore = await fleet.api.restore(finished.snapshotId ?? '', { targetDir: target });
    const restored = await fleet.api.waitForRun(restore.id, { timeoutMs: 120_000 });
    expect(restored.status).toBe('succeeded');
    const comparison = await compareTrees(source, path.join(target, source));
    expect(formatDifferences(comparison)).toBe('');
  }, 300_000);
});
