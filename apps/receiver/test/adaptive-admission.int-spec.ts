import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AimdSlotPolicy } from '../src/admission/aimd-slot-policy';
import { type SlotPolicy } from '../src/admission/slot-policy';
import { ThrottledRepository } from '../src/throttle/throttled-repository';
import { startReceiver, type ReceiverFixture } from './support/receiver-fixture';
import { makeSampleTree } from './support/sample-tree';
import { runBackup } from './support/test-agent';

const SESSIONS = 8;
// One host per session: a host's later sessions would reuse the trees an earlier one stored (directory digests)
// and commit almost nothing, so how slow the commits get would depend on which session finished first.
const hosts = Array.from({ length: SESSIONS }, (_, i) => ({ hostId: randomUUID(), hostName: `adaptive-${i}`, credential: `secret-${i}` }));
const CEILING = 4;

/**
 * The AIMD policy, every limit it takes recorded as it takes it: a cut lasts only until commits are fast again
 * (a few tens of ms), which sampling from a timer can miss on a busy machine.
 */
class RecordingPolicy implements SlotPolicy {
  readonly limits: number[];

  constructor(private readonly inner: AimdSlotPolicy) {
    this.limits = [inner.limit()];
  }

  limit(): number {
    return this.inner.limit();
  }

  observeCommitLatency(ms: number): void {
    this.inner.observeCommitLatency(ms);
    this.limits.push(this.inner.limit());
  }
}

let fx: ReceiverFixture;
let source: string;
const policy = new RecordingPolicy(new AimdSlotPolicy({ ceiling: CEILING, targetLatencyMs: 40 }));

beforeAll(async () => {
  // A repository slow on file operations: commits of several sessions at once take longer than the target.
  fx = await startReceiver(
    { maxSessions: CEILING },
    {
      wrap: (repository) => new ThrottledRepository(repository, { bytesPerSecond: null, opsPerSecond: 50 }),
      slotPolicy: policy,
    },
  );
  for (const host of hosts) fx.verifier.addHost(host);
  source = await mkdtemp(join(tmpdir(), 'berth-adaptive-'));
  await makeSampleTree(source);
});

afterAll(async () => {
  await fx.stop();
  await rm(source, { recursive: true, force: true });
});

describe('adaptive admission against a slow repository', () => {
  it('cuts the slots when commits slow down, never exceeds the new limit for new admissions, and completes every session', async () => {
    let maxBusy = 0;
    const sampler = setInterval(() => {
      maxBusy = Math.max(maxBusy, fx.receiver.metrics().slotsBusy);
    }, 5);
    try {
      const runs = hosts.map((host) => {
        const runId = randomUUID();
        fx.verifier.addRun({ runId, hostId: host.hostId, kind: 'backup' });
        return runBackup({ port: fx.port, ...host, runId, root: source });
      });
      const results = await Promise.all(runs);
      expect(results.every((r) => r.done !== null)).toBe(true);
    } finally {
      clearInterval(sampler);
    }
    const { limits } = policy;
    expect(limits[0]).toBe(CEILING);
    expect(Math.min(...limits)).toBeLessThan(CEILING);
    expect(Math.min(...limits)).toBeGreaterThanOrEqual(1);
    expect(maxBusy).toBeLessThanOrEqual(CEILING);
    expect(fx.receiver.metrics().commitLatencyMs.max).toBeGreaterThan(40);
  });
});
