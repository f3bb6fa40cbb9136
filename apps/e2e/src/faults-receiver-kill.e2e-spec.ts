import path from 'node:path';
import { generateSampleTree, type SampleTreeSummary } from '@berth/harness';
import { type FleetSuite, startFleetSuite } from './support/fleet-suite';
import { largestDirectoryBytes, waitForProgress } from './support/run-progress';
import { describeAttempts, restoreAndCompare } from './support/verify-snapshot';

const MiB = 1024 * 1024;
const CREDIT_BYTES = 8 * MiB;
/** The agent's bound on content sent for chunks not yet committed (two chunks of 4 MiB, apps/agent). */
const UNCOMMITTED_CONTENT_BYTES = 8 * MiB;
const LARGE_FILE_BYTES = 4 * MiB;

// kill -9 of the receiver in the middle of a backup, inside a directory of 3,000 files (about 24 MB), then a
// restart on the same port and repository: the agent's attempt dies with the connection, the job is retried,
// and the next attempt resumes after the last committed chunk of that directory instead of sending it again.
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
    tree = await generateSampleTree(source, {
      seed: 21,
      smallFiles: 3000,
      smallFileBytes: { min: 4096, max: 12288 },
      largeFiles: 3,
      largeFileBytes: LARGE_FILE_BYTES,
      duplicateLargeFile: false,
      hardLinkGroups: 0,
      nestedDepth: 3,
      nestedBreadth: 3,
    });
    ({
      host: { id: hostId },
    } = await suite.fleet.addHostWithAgent({ name: 'receiver-kill', paths: [source] }));
  }, 180_000);

  afterAll(async () => {
    await suite?.stop();
  });

  it('completes after a restart, resuming inside the large directory, re-sending at most one chunk window and one file', async () => {
    const queued = await suite.fleet.api.startBackup(hostId);
    // Kill once the checkpoint (the last committed chunk's last entry) is inside the 3,000-file directory and has
    // moved there at least once: part of that directory is durable, most of it is still to come.
    const checkpoints: string[] = [];
    const inLargeDir = (checkpoint: string): boolean => path.dirname(checkpoint) === tree.smallFilesDir;
    const atKill = await waitForProgress(
      suite.fleet.api,
      queued.id,
      (run) => {
        if (run.checkpoint !== null && checkpoints[checkpoints.length - 1] !== run.checkpoint) checkpoints.push(run.checkpoint);
        return checkpoints.filter(inLargeDir).length >= 2;
      },
      'two checkpoints inside the large directory',
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
    const second = run.attemptHistory[1];
    expect(second?.resumedFrom ?? '').not.toBe('');
    // The later attempt did not start over, nor re-send the large directory: what was sent twice is at most the
    // agent's uncommitted-content window plus one large file (far less than that directory).
    expect(largestDir).toBeGreaterThan(UNCOMMITTED_CONTENT_BYTES + LARGE_FILE_BYTES + 8 * MiB);
    expect(second?.bytesSent ?? Infinity).toBeLessThan(tree.bytes);
    expect(resent).toBeLessThanOrEqual(UNCOMMITTED_CONTENT_BYTES + LARGE_FILE_BYTES);

    const result = await restoreAndCompare(suite, run, source, path.join(suite.work, 'restore'));
    expect(result.differences).toBe('');
    expect(result.files).toBe(tree.files);
  }, 300_000);
});
