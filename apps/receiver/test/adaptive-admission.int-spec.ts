import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AimdSlotPolicy } from '../src/admission/aimd-slot-policy';
import { ThrottledRepository } from '../src/throttle/throttled-repository';
import { startReceiver, type ReceiverFixture } from './support/receiver-fixture';
import { makeSampleTree } from './support/sample-tree';
import { runBackup } from './support/test-agent';

const host = { hostId: randomUUID(), hostName: 'adaptive', credential: 'secret' };
const CEILING = 4;

let fx: ReceiverFixture;
let source: string;

beforeAll(async () => {
  // A repository slow on file operations: commits of several sessions at once take longer than the target.
  fx = await startReceiver(
    { maxSessions: CEILING },
    {
      wrap: (repository) => new ThrottledRepository(repository, { bytesPerSecond: null, opsPerSecond: 400 }),
      slotPolicy: new AimdSlotPolicy({ ceiling: CEILING, targetLatencyMs: 40 }),
    },
  );
  fx.verifier.addHost(host);
  source = await mkdtemp(join(tmpdir(), 'berth-adaptive-'));
  await makeSampleTree(source);
});

afterAll(async () => {
  await fx.stop();
  await rm(source, { recursive: true, force: true });
});

describe('adaptive admission against a slow repository', () => {
  it('cuts the slots when commits slow down, never exceeds the new limit for new admissions, and completes every session', async () => {
    const limits: number[] = [];
    let maxBusy = 0;
    const sampler = setInterval(() => {
      const m = fx.receiver.metrics();
      limits.push(m.slotsLimit);
      maxBusy = Math.max(maxBusy, m.slotsBusy);
    }, 5);
    try {
      const runs = Array.from({ length: 8 }, () => {
        const runId = randomUUID();
        fx.verifier.addRun({ runId, hostId: host.hostId, kind: 'backup' });
        return runBackup({ port: fx.port, ...host, runId, root: source });
      });
      const results = await Promise.all(runs);
      expect(results.every((r) => r.done !== null)).toBe(true);
    } finally {
      clearInterval(sampler);
    }
    expect(limits[0]).toBe(CEILING);
    expect(Math.min(...limits)).toBeLessThan(CEILING);
    expect(Math.min(...limits)).toBeGreaterThanOrEqual(1);
    expect(maxBusy).toBeLessThanOrEqual(CEILING);
    expect(fx.receiver.metrics().commitLatencyMs.max).toBeGreaterThan(40);
  });
});
