import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateSampleTree, type PrivateRedis, type SampleTreeSummary, startPrivateRedis } from '@berth/harness';
import { type FleetSuite, startFleetSuite } from './support/fleet-suite';
import { largestDirectoryBytes, waitForProgress } from './support/run-progress';
import { accountForOutage, restoreAndCompare } from './support/verify-snapshot';

const MiB = 1024 * 1024;
const OUTAGE_MS = 4000;

// Redis (the job queue) goes away in the middle of a backup and comes back on the same port. The fleet runs
// on a redis-server of this test's own: the one other tests share is never touched.
/** Waits until the controller's /healthz reports its Redis connection up. */
async function untilRedisUp(suite: FleetSuite): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const response = await fetch(`${suite.fleet.api.baseUrl}/healthz`);
    const body = (await response.json()) as { checks?: { redis?: string } };
    if (body.checks?.redis === 'up') return;
    if (Date.now() > deadline) throw new Error(`the controller's Redis connection is still down 30 s after the run ended: ${JSON.stringify(body)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('fault: Redis restarted mid-run', () => {
  let redisDir: string;
  let redis: PrivateRedis;
  let suite: FleetSuite;
  let source: string;
  let tree: SampleTreeSummary;
  let hostId: string;

  beforeAll(async () => {
    redisDir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-e2e-redis-'));
    redis = await startPrivateRedis({ dir: redisDir });
    suite = await startFleetSuite('redis-restart', {
      redisUrl: redis.url,
      receiverEnv: {
        BERTH_RECEIVER_WRITE_BYTES_PER_SEC: String(2 * MiB),
        BERTH_RECEIVER_WRITE_OPS_PER_SEC: '300',
        BERTH_RECEIVER_CREDIT_BYTES: String(8 * MiB),
      },
    });
    source = path.join(suite.work, 'source');
    tree = await generateSampleTree(source, { seed: 41, smallFiles: 800, largeFiles: 2, largeFileBytes: 4 * MiB, duplicateLargeFile: false, hardLinkGroups: 0 });
    ({
      host: { id: hostId },
    } = await suite.fleet.addHostWithAgent({ name: 'redis-restart', paths: [source] }));
  }, 180_000);

  afterAll(async () => {
    await suite?.stop();
    await redis?.stop();
    if (redisDir !== undefined) await fs.rm(redisDir, { recursive: true, force: true });
  });

  it('completes the run once Redis is back, and the snapshot matches the source', async () => {
    const queued = await suite.fleet.api.startBackup(hostId);
    const atStop = await waitForProgress(suite.fleet.api, queued.id, (run) => run.counters.bytesSent >= tree.bytes * 0.25, 'a quarter of the bytes sent');
    await redis.stop('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
    // The outage really fell inside the run: it was still running when Redis came back.
    const whileDown = await suite.fleet.api.getRun(queued.id);
    await redis.start();
    expect(whileDown.status).toBe('running');

    const run = await suite.fleet.api.waitForRun(queued.id, { timeoutMs: 150_000 });
    const largestDir = await largestDirectoryBytes(source);
    const { history, resent } = accountForOutage('redis restart', run, tree.bytes, largestDir, { sentAtStart: atStop.counters.bytesSent, ms: OUTAGE_MS });

    expect({ status: run.status, error: run.error, history }).toEqual({ status: 'succeeded', error: null, history });
    expect(resent).toBeLessThanOrEqual(largestDir + MiB);
    // The backup can end before the controller's own Redis connection is back (its reconnects back off up to 2 s),
    // and until then queuing the restore rightly answers 503 queue_unavailable: wait until its health says so.
    await untilRedisUp(suite);
    const result = await restoreAndCompare(suite, run, source, path.join(suite.work, 'restore'));
    expect(result.differences).toBe('');
    expect(result.files).toBe(tree.files);
  }, 300_000);
});
