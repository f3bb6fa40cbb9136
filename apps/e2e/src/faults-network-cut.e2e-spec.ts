import path from 'node:path';
import { freePort, generateSampleTree, type SampleTreeSummary } from '@berth/harness';
import { type FleetSuite, startFleetSuite } from './support/fleet-suite';
import { largestDirectoryBytes, receiverLogAfterIdleEnd, waitForProgress } from './support/run-progress';
import { StallingProxy } from './support/stalling-proxy';
import { describeAttempts, restoreAndCompare } from './support/verify-snapshot';

const MiB = 1024 * 1024;
const HEARTBEAT_MS = 500;
const IDLE_TIMEOUT_MS = 3000;
/** The longest the cut lasts: the credit window (8 MiB) worked off at 2 MiB/s, the idle timeout, and room for a loaded machine. */
const CUT_MAX_MS = 20_000;

// A network cut longer than the heartbeat interval: agents reach the receiver only through a proxy that
// stops forwarding both ways (no FIN, no RST: packets just vanish, windows fill), then drops every
// connection. Both ends notice the silence within the idle timeout, the attempt fails, the job is retried
// through the healed link and the run completes.
describe('fault: network cut (stall, then drop) longer than the heartbeat interval', () => {
  let suite: FleetSuite;
  let proxy: StallingProxy;
  let source: string;
  let tree: SampleTreeSummary;
  let hostId: string;

  beforeAll(async () => {
    const proxyPort = await freePort();
    suite = await startFleetSuite('network-cut', {
      controllerEnv: { BERTH_RECEIVER_ADDRESS: `127.0.0.1:${proxyPort}` },
      receiverEnv: {
        BERTH_HEARTBEAT_MS: String(HEARTBEAT_MS),
        BERTH_IDLE_TIMEOUT_MS: String(IDLE_TIMEOUT_MS),
        BERTH_RECEIVER_WRITE_BYTES_PER_SEC: String(2 * MiB),
        BERTH_RECEIVER_WRITE_OPS_PER_SEC: '300',
        BERTH_RECEIVER_CREDIT_BYTES: String(8 * MiB),
      },
    });
    proxy = new StallingProxy(() => ({ host: suite.fleet.receiver.host, port: suite.fleet.receiver.port }));
    await proxy.listen(proxyPort);
    source = path.join(suite.work, 'source');
    tree = await generateSampleTree(source, { seed: 31, smallFiles: 800, largeFiles: 2, largeFileBytes: 4 * MiB, duplicateLargeFile: false, hardLinkGroups: 0 });
    ({
      host: { id: hostId },
    } = await suite.fleet.addHostWithAgent({ name: 'network-cut', paths: [source] }));
  }, 180_000);

  afterAll(async () => {
    await proxy?.close();
    await suite?.stop();
  });

  it('ends the stalled session by idle timeout on both sides, retries and completes', async () => {
    const queued = await suite.fleet.api.startBackup(hostId);
    const atCut = await waitForProgress(suite.fleet.api, queued.id, (run) => run.counters.bytesSent >= tree.bytes * 0.25, 'a quarter of the bytes sent');
    const cutAt = Date.now();
    proxy.stall();
    // Longer than the idle timeout: packets vanish, nobody is told. The receiver may first work off what it read before
    // the stall (up to its credit window at the throttled 2 MiB/s); its idle timeout runs from then.
    const receiverLogDuringCut = await receiverLogAfterIdleEnd(() => suite.fleet.receiver.logs(), IDLE_TIMEOUT_MS, IDLE_TIMEOUT_MS + 2000, CUT_MAX_MS);
    proxy.drop();
    proxy.heal();

    const run = await suite.fleet.api.waitForRun(queued.id, { timeoutMs: 150_000 });
    const history = describeAttempts(run);
    const sent = run.attemptHistory.reduce((sum, a) => sum + a.bytesSent, 0);
    const largestDir = await largestDirectoryBytes(source);
    process.stdout.write(
      `network cut: tree ${tree.bytes} bytes (largest directory ${largestDir}); cut at sent=${atCut.counters.bytesSent}; ${proxy.accepted} connections; ` +
        `attempts ${history}; re-sent ${sent - tree.bytes} bytes; completed ${((Date.now() - cutAt) / 1000).toFixed(1)} s after the cut\n`,
    );

    expect({ status: run.status, error: run.error, history }).toEqual({ status: 'succeeded', error: null, history });
    expect(run.attempts).toBeGreaterThanOrEqual(2);
    expect(proxy.accepted).toBeGreaterThanOrEqual(2);
    // The receiver ended the silent session itself, by its idle timeout, while the link was still stalled.
    expect(receiverLogDuringCut).toMatch(new RegExp(`session \\S+ end .*no frame received for ${IDLE_TIMEOUT_MS} ms`));
    const first = run.attemptHistory[0];
    expect(first?.outcome).not.toBe('succeeded');
    // And the agent ended its side the same way, not by waiting for TCP to give up.
    expect(first?.endReason).toMatch(new RegExp(`no frame received for ${IDLE_TIMEOUT_MS} ms`));
    const last = run.attemptHistory[run.attemptHistory.length - 1];
    expect(last?.bytesSent ?? Infinity).toBeLessThan(tree.bytes);
    expect(sent - tree.bytes).toBeLessThanOrEqual(largestDir + MiB);

    const result = await restoreAndCompare(suite, run, source, path.join(suite.work, 'restore'));
    expect(result.differences).toBe('');
    expect(result.files).toBe(tree.files);
  }, 300_000);
});
