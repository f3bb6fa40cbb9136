import { promises as fs } from 'node:fs';
import path from 'node:path';
import { type HostResponse, type RunResponse } from '@berth/contracts';
import { compareTrees, formatDifferences, SeededRandom } from '@berth/harness';
import { type FleetSuite, startFleetSuite } from './support/fleet-suite';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Small files in several directories, so directories commit one after another while the receiver is throttled. */
async function writeTree(root: string, directories: number, filesPerDirectory: number, seed: number): Promise<{ files: number; bytes: number }> {
  const random = new SeededRandom(seed);
  let bytes = 0;
  for (let d = 0; d < directories; d++) {
    const dir = path.join(root, `dir-${String(d).padStart(2, '0')}`);
    await fs.mkdir(dir, { recursive: true });
    for (let f = 0; f < filesPerDirectory; f++) {
      const content = random.bytes(random.int(200, 4000));
      bytes += content.length;
      await fs.writeFile(path.join(dir, `file-${String(f).padStart(4, '0')}.dat`), content);
    }
  }
  return { files: directories * filesPerDirectory, bytes };
}

/** Polls the run until `done` holds for it, or fails after `timeoutMs`. */
async function until(suite: FleetSuite, runId: string, done: (run: RunResponse) => boolean, timeoutMs: number): Promise<RunResponse> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const run = await suite.fleet.api.getRun(runId);
    if (done(run)) return run;
    if (Date.now() > deadline) throw new Error(`run ${runId} still ${run.status} (checkpoint ${run.checkpoint ?? 'none'}) after ${timeoutMs} ms`);
    await sleep(100);
  }
}

async function restoredMatches(suite: FleetSuite, snapshotId: string, source: string, name: string): Promise<string> {
  const target = path.join(suite.work, name);
  const restore = await suite.fleet.api.restore(snapshotId, { targetDir: target });
  const restored = await suite.fleet.api.waitForRun(restore.id, { timeoutMs: 120_000 });
  // The error, if any, in the failure message.
  expect({ status: restored.status, error: restored.error }).toEqual({ status: 'succeeded', error: null });
  return formatDifferences(await compareTrees(source, path.join(target, source)));
}

const HEARTBEAT_MS = 500;
const OFFLINE_AFTER = 3;

// Real controller, receiver and agents. The receiver's writes are throttled so that a backup is surely running
// (some directories committed, most not) when the test acts on it; heartbeats and the reconciler run on short
// intervals so that liveness shows within seconds.
describe('cancel and agent liveness', () => {
  let suite: FleetSuite;

  beforeAll(async () => {
    suite = await startFleetSuite('cancel', {
      receiverEnv: { BERTH_RECEIVER_WRITE_BYTES_PER_SEC: '400000', BERTH_RECEIVER_WRITE_OPS_PER_SEC: '300' },
      controllerEnv: { BERTH_AGENT_HEARTBEAT_MS: String(HEARTBEAT_MS), BERTH_AGENT_OFFLINE_AFTER: String(OFFLINE_AFTER), BERTH_RECONCILE_INTERVAL_MS: '1000' },
    });
  }, 180_000);

  afterAll(async () => {
    await suite?.stop();
  });

  it('cancels a running backup within seconds, keeps it canceled, and a retry resumes to a snapshot identical to the source', async () => {
    const { fleet } = suite;
    const source = path.join(suite.work, 'source-cancel');
    const tree = await writeTree(source, 12, 250, 2026);
    const { host } = await fleet.addHostWithAgent({ name: 'e2e-cancel', paths: [source] });
    const queued = await fleet.api.startBackup(host.id);
    const running = await until(suite, queued.id, (run) => run.checkpoint !== null || run.status !== 'queued' && run.status !== 'running', 60_000);
    expect(running.status).toBe('running');

    const asked = Date.now();
    const requested = await fleet.api.cancelRun(queued.id);
    expect(requested.status).toBe('running');
    expect(requested.cancelRequestedAt).not.toBeNull();
    const canceled = await until(suite, queued.id, (run) => run.status !== 'running', 30_000);
    const stoppedMs = Date.now() - asked;
    process.stdout.write(`cancel: run ${queued.id} canceled ${stoppedMs} ms after the request\n`);
    expect(canceled.status).toBe('canceled');
    expect(stoppedMs).toBeLessThan(5_000);
    expect(canceled.snapshotId).toBeNull();
    expect(canceled.error).toBe('canceled at the request of bootstrap (admin)');
    expect(canceled.attemptHistory).toEqual([expect.objectContaining({ number: 1, outcome: 'canceled', endReason: canceled.error })]);

    // BullMQ does not run it again on its own: still canceled, one attempt, a few seconds later.
    await sleep(3_000);
    expect(await fleet.api.getRun(queued.id)).toMatchObject({ status: 'canceled', attempts: 1 });

    const retried = await fleet.api.retryRun(queued.id);
    expect(retried.status).toBe('queued');
    const finished = await fleet.api.waitForRun(queued.id, { timeoutMs: 150_000, pollMs: 500 });
    expect(finished).toMatchObject({ status: 'succeeded', attempts: 2, error: null });
    const second = finished.attemptHistory[1];
    expect(second?.resumedFrom?.startsWith(source)).toBe(true);
    expect(second?.bytesSent).toBeLessThan(tree.bytes);
    expect(await restoredMatches(suite, finished.snapshotId ?? '', source, 'restored-cancel')).toBe('');
  }, 300_000);

  it('shows the host offline once its agent is killed, and the vanished agent\'s run is failed back to the queue, then completes when the agent returns', async () => {
    const { fleet } = suite;
    const source = path.join(suite.work, 'source-vanish');
    await writeTree(source, 12, 250, 7);
    const { host, agent } = await fleet.addHostWithAgent({ name: 'e2e-vanish', paths: [source] });
    const hostNow = (): Promise<HostResponse> => fleet.api.getHost(host.id);
    expect((await hostNow()).status).toBe('online');

    const queued = await fleet.api.startBackup(host.id);
    await until(suite, queued.id, (run) => run.checkpoint !== null || run.status !== 'queued' && run.status !== 'running', 60_000);
    agent.kill();
    await agent.process.exited;
    const killedAt = Date.now();

    // Offline after OFFLINE_AFTER missed heartbeats, noticed by the next reconciler pass.
    let seen = await hostNow();
    while (seen.status === 'online' && Date.now() - killedAt < 15_000) {
      await sleep(100);
      seen = await hostNow();
    }
    const offlineMs = Date.now() - killedAt;
    process.stdout.write(`liveness: host offline ${offlineMs} ms after its agent was killed\n`);
    expect(seen.status).toBe('offline');
    expect(offlineMs).toBeLessThan(HEARTBEAT_MS * OFFLINE_AFTER + 3_000);

    // The job's lock expires (30 s); the controller then fails that attempt itself (no worker of this host is left
    // to run BullMQ's stalled check): the run is queued again, never left running.
    const requeued = await until(suite, queued.id, (run) => run.status !== 'running', 60_000);
    const requeuedMs = Date.now() - killedAt;
    process.stdout.write(`liveness: run ${queued.id} ${requeued.status} ${requeuedMs} ms after its agent was killed\n`);
    expect(requeued.status).toBe('queued');
    expect(requeued.attemptHistory[0]).toMatchObject({ number: 1, outcome: 'abandoned' });
    expect(requeued.attemptHistory[0]?.endReason).toMatch(/its agent went offline \(no heartbeat since .*\) and its job lock expired; BullMQ retries its job after the backoff$/);

    await fleet.startAgent('e2e-vanish');
    for (let i = 0; i < 100 && seen.status !== 'online'; i++) {
      await sleep(100);
      seen = await hostNow();
    }
    expect(seen.status).toBe('online');
    const finished = await fleet.api.waitForRun(queued.id, { timeoutMs: 150_000, pollMs: 500 });
    expect(finished).toMatchObject({ status: 'succeeded', attempts: 2 });
    expect(finished.attemptHistory[1]?.resumedFrom?.startsWith(source)).toBe(true);
    expect(await restoredMatches(suite, finished.snapshotId ?? '', source, 'restored-vanish')).toBe('');
  }, 300_000);
});
