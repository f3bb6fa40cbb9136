import path from 'node:path';
import { generateSampleTree, type SampleTreeSummary } from '@berth/harness';
import { type FleetSuite, startFleetSuite } from './support/fleet-suite';
import { committedDirectoryBytes, largestDirectoryBytes, waitForProgress } from './support/run-progress';
import { describeAttempts, restoreAndCompare } from './support/verify-snapshot';

const MiB = 1024 * 1024;
const CREDIT_BYTES = 8 * MiB;

// kill -9 of the receiver in the middle of a backup, then a restart on the same port and repository: the
// agent's attempt dies with the connection, the job is retried, and the next attempt resumes after the
// last committed directory instead of sending the tree again.
describe('fault: receiver killed (SIGKILL) mid-run', () => {
  let suite: FleetSuite;
  let source: string;
  let tree: SampleTreeSummary;
  let hostId: string;

  beforeAll(async () => {
    suite = await startFleetSuite('receiver-kill', {
      receiverEnv: {
        // Slow enough to kill it half-way; the smallest credit window bounds what can be lost in flight.
        BERTH_RECEIVER_WRITE_BYTES_PER_SEC: String(2 * MiB),
        BERTH_RECEIVER_WRITE_OPS_PER_SEC: '400',
        BERTH_RECEIVER_CREDIT_BYTES: String(CREDIT_BYTES),
      },
    });
    source = path.join(suite.work, 'source');
    // No duplicate file and no hard links: every byte of the tree crosses the wire once, so the sum of the
    // attempts' bytesSent less the tree's size is what was sent twice.
    tree = await generateSampleTree(source, { seed: 21, smallFiles: 800, largeFiles: 3, largeFileBytes: 4 * MiB, duplicateLargeFile: false, hardLinkGroups: 0, nestedDepth: 3, nestedBreadth: 3 });
    ({
      host: { id: hostId },
    } = await suite.fleet.addHostWithAgent({ name: 'receiver-kill', paths: [source] }));
  }, 180_000);

  afterAll(async () => {
    await suite?.stop();
  });

  it('completes after a restart, resuming after the last committed directory, and the snapshot matches the source', async () => {
    const queued = await suite.fleet.api.startBackup(hostId);
    // Kill once the run's checkpoint has moved twice (the agent reports it now and then, not per commit):
    // directories are committed, and with the repository this slow most of the tree is still in flight.
    const checkpoints: string[] = [];
    const atKill = await waitForProgress(
      suite.fleet.api,
      queued.id,
      (run) => {
        if (run.checkpoint !== null && checkpoints[checkpoints.length - 1] !== run.checkpoint) checkpoints.push(run.checkpoint);
        return checkpoints.length >= 2;
      },
      'a second checkpoint',
    );
    await suite.fleet.restartReceiver('SIGKILL');
    const run = await suite.fleet.api.waitForRun(queued.id, { timeoutMs: 150_000 });
    const history = describeAttempts(run);
    const sent = run.attemptHistory.map((a) => a.bytesSent);
    const resent = sent.reduce((sum, bytes) => sum + bytes, 0) - tree.bytes;
    const largestDir = await largestDirectoryBytes(source);
    process.stdout.write(
      `receiver kill: tree ${tree.bytes} bytes (largest directory ${largestDir}); killed at sent=${atKill.counters.bytesSent} after checkpoints ${checkpoints.map((c) => path.relative(source, c)).join(', ')}; ` +
        `attempts ${history}; re-sent ${resent} bytes\n`,
    );

    expect({ status: run.status, error: run.error, history }).toEqual({ status: 'succeeded', error: null, history });
    expect(run.attempts).toBeGreaterThanOrEqual(2);
    const last = run.attemptHistory[run.attemptHistory.length - 1];
    expect(last?.resumedFrom).not.toBeNull();
    // The later attempt did not start over: what the committed directories hold was not sent again, and what
    // was sent twice is at most one directory's worth plus one content chunk.
    const committedBytes = await committedDirectoryBytes(checkpoints);
    expect(last?.bytesSent ?? Infinity).toBeLessThan(tree.bytes);
    expect(last?.bytesSent ?? Infinity).toBeLessThanOrEqual(tree.bytes - committedBytes);
    expect(resent).toBeLessThanOrEqual(largestDir + MiB);

    const result = await restoreAndCompare(suite, run, source, path.join(suite.work, 'restore'));
    expect(result.differences).toBe('');
    expect(result.files).toBe(tree.files);
  }, 300_000);
});
