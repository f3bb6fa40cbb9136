import path from 'node:path';
import { generateSampleTree, type SampleTreeSummary } from '@berth/harness';
import { type FleetSuite, startFleetSuite } from './support/fleet-suite';
import { NetnsLink } from './support/netns-link';
import { receiverLogAfterIdleEnd, waitForProgress } from './support/run-progress';
import { describeAttempts, restoreAndCompare } from './support/verify-snapshot';

const MiB = 1024 * 1024;
const HEARTBEAT_MS = 500;
const IDLE_TIMEOUT_MS = 3000;
/** The longest the cut lasts: the credit window worked off at the throttled write rate, the idle timeout, and room for a loaded machine. */
const CUT_MAX_MS = 20_000;
/** The agent's bound on content sent for chunks not yet committed (two chunks of 4 MiB, apps/agent). */
const UNCOMMITTED_CONTENT_BYTES = 8 * MiB;
const LARGE_FILE_BYTES = 4 * MiB;

// A network cut in the kernel rather than in a proxy: agents reach the receiver through a network namespace of the
// test's own, joined by a veth pair whose link is set down for longer than the heartbeat interval (and the idle
// timeout), then up again. Packets vanish, nobody is told: both ends end the session by idle timeout, the job is
// retried over the restored link, resumes after the last committed chunk, and the run completes. Needs root (it
// fails, saying so, where the namespace cannot be built).
describe('fault: network cut in a network namespace (veth link down) longer than the heartbeat interval', () => {
  let suite: FleetSuite;
  let link: NetnsLink;
  let source: string;
  let tree: SampleTreeSummary;
  let hostId: string;

  beforeAll(async () => {
    let receiver: { host: string; port: number } | null = null;
    link = await NetnsLink.create(() => {
      if (receiver === null) throw new Error('an agent connected before the receiver started');
      return receiver;
    });
    suite = await startFleetSuite('netns-cut', {
      controllerEnv: { BERTH_RECEIVER_ADDRESS: link.agentAddress },
      receiverEnv: {
        BERTH_HEARTBEAT_MS: String(HEARTBEAT_MS),
        BERTH_IDLE_TIMEOUT_MS: String(IDLE_TIMEOUT_MS),
        BERTH_RECEIVER_WRITE_BYTES_PER_SEC: String(2 * MiB),
        BERTH_RECEIVER_WRITE_OPS_PER_SEC: '300',
        BERTH_RECEIVER_CREDIT_BYTES: String(8 * MiB),
      },
    });
    receiver = { host: suite.fleet.receiver.host, port: suite.fleet.receiver.port };
    source = path.join(suite.work, 'source');
    tree = await generateSampleTree(source, { seed: 37, smallFiles: 800, largeFiles: 2, largeFileBytes: LARGE_FILE_BYTES, duplicateLargeFile: false, hardLinkGroups: 0 });
    ({
      host: { id: hostId },
    } = await suite.fleet.addHostWithAgent({ name: 'netns-cut', paths: [source] }));
  }, 180_000);

  afterAll(async () => {
    try {
      await suite?.stop();
    } finally {
      await link?.close();
    }
  });

  it('ends the cut session by idle timeout on both sides, retries over the restored link, resumes and completes', async () => {
    const queued = await suite.fleet.api.startBackup(hostId);
    // Cut once a chunk is committed (the retry must have something to resume from: a cut before the first commit,
    // possible under load, would rightly start over) and a quarter of the bytes went out.
    const atCut = await waitForProgress(
      suite.fleet.api,
      queued.id,
      (run) => run.checkpoint !== null && run.counters.bytesSent >= tree.bytes * 0.25,
      'a committed chunk and a quarter of the bytes sent',
    );
    await link.cut();
    // Longer than the idle timeout (and six heartbeat intervals): nothing crosses the link. The receiver may first work
    // off what it read before the cut (up to its credit window at the throttled write rate); its idle timeout runs from then.
    const receiverLogDuringCut = await receiverLogAfterIdleEnd(() => suite.fleet.receiver.logs(), IDLE_TIMEOUT_MS, IDLE_TIMEOUT_MS + 2000, CUT_MAX_MS);
    await link.restore();

    const run = await suite.fleet.api.waitForRun(queued.id, { timeoutMs: 150_000 });
    const history = describeAttempts(run);
    const sent = run.attemptHistory.reduce((sum, a) => sum + a.bytesSent, 0);
    const reported = run.attemptHistory.map((a) => a.bytesResent);
    process.stdout.write(
      `netns cut (${link.namespace}): tree ${tree.bytes} bytes; cut at sent=${atCut.counters.bytesSent}; ${link.accepted} connections; ` +
        `attempts ${history}; sent twice ${sent - tree.bytes} bytes, reported re-sent ${reported.join('+')}\n`,
    );

    expect({ status: run.status, error: run.error, history }).toEqual({ status: 'succeeded', error: null, history });
    expect(run.attempts).toBeGreaterThanOrEqual(2);
    expect(link.accepted).toBeGreaterThanOrEqual(2);
    // The receiver ended the silent session itself, by its idle timeout, while the link was still down.
    expect(receiverLogDuringCut).toMatch(new RegExp(`session \\S+ end .*no frame received for ${IDLE_TIMEOUT_MS} ms`));
    const first = run.attemptHistory[0];
    expect(first?.outcome).not.toBe('succeeded');
    // And the agent ended its side the same way, not by waiting for TCP to give up.
    expect(first?.endReason).toMatch(new RegExp(`no frame received for ${IDLE_TIMEOUT_MS} ms`));
    // The retry resumed: what was sent twice is at most the uncommitted window plus one large file, and the
    // attempts' own accounts of it add up exactly.
    expect(run.attemptHistory[1]?.resumedFrom ?? '').not.toBe('');
    expect(sent - tree.bytes).toBeLessThanOrEqual(UNCOMMITTED_CONTENT_BYTES + LARGE_FILE_BYTES);
    expect(reported.every((bytes) => bytes !== null)).toBe(true);
    expect(reported.reduce<number>((sum, bytes) => sum + (bytes ?? 0), 0)).toBe(sent - tree.bytes);

    const result = await restoreAndCompare(suite, run, source, path.join(suite.work, 'restore'));
    expect(result.differences).toBe('');
    expect(result.files).toBe(tree.files);
  }, 300_000);
});
