import { Admission } from './admission';
import { AimdSlotPolicy } from './aimd-slot-policy';

describe('AimdSlotPolicy', () => {
  let clock: number;
  const now = (): number => clock;

  beforeEach(() => {
    clock = 1_000_000;
  });

  function feed(policy: AimdSlotPolicy, latencies: readonly number[], stepMs: number): number[] {
    return latencies.map((ms) => {
      clock += stepMs;
      policy.observeCommitLatency(ms);
      return policy.limit();
    });
  }

  it('starts at the ceiling unless told otherwise', () => {
    expect(new AimdSlotPolicy({ ceiling: 6, targetLatencyMs: 500, now }).limit()).toBe(6);
    expect(new AimdSlotPolicy({ ceiling: 6, targetLatencyMs: 500, initial: 2, now }).limit()).toBe(2);
  });

  it('grows by one per interval while latency stays under the target, up to the ceiling', () => {
    const policy = new AimdSlotPolicy({ ceiling: 4, targetLatencyMs: 500, initial: 1, now });
    expect(feed(policy, [100, 100, 100, 100, 100], 600)).toEqual([2, 3, 4, 4, 4]);
  });

  it('does not grow faster than once per interval however many fast commits arrive', () => {
    const policy = new AimdSlotPolicy({ ceiling: 8, targetLatencyMs: 500, initial: 1, now });
    expect(feed(policy, [50, 50, 50, 50, 50, 50], 100)).toEqual([2, 2, 2, 2, 2, 3]);
  });

  it('halves on latency above the target and never goes below 1', () => {
    const policy = new AimdSlotPolicy({ ceiling: 16, targetLatencyMs: 500, now });
    expect(feed(policy, [900, 900, 900, 900, 900, 900], 600)).toEqual([8, 4, 2, 1, 1, 1]);
  });

  it('cuts once for a burst of slow commits from the same congestion', () => {
    const policy = new AimdSlotPolicy({ ceiling: 8, targetLatencyMs: 500, now });
    expect(feed(policy, [2000, 2000, 2000, 2000], 50)).toEqual([4, 4, 4, 4]);
  });

  it('waits a full interval after a cut before growing again, then recovers additively', () => {
    const policy = new AimdSlotPolicy({ ceiling: 8, targetLatencyMs: 500, now });
    feed(policy, [800], 10);
    expect(policy.limit()).toBe(4);
    expect(feed(policy, [100, 100, 100, 100, 100], 200)).toEqual([4, 4, 5, 5, 5]);
    expect(feed(policy, [100, 100], 500)).toEqual([6, 7]);
  });

  it('treats latency equal to the target as acceptable', () => {
    const policy = new AimdSlotPolicy({ ceiling: 3, targetLatencyMs: 500, initial: 2, now });
    expect(feed(policy, [500], 600)).toEqual([3]);
  });

  it('rejects a ceiling, target or initial value that makes no sense', () => {
    expect(() => new AimdSlotPolicy({ ceiling: 0, targetLatencyMs: 500 })).toThrow(/ceiling/);
    expect(() => new AimdSlotPolicy({ ceiling: 2, targetLatencyMs: 0 })).toThrow(/target latency/);
    expect(() => new AimdSlotPolicy({ ceiling: 2, targetLatencyMs: 500, initial: 3 })).toThrow(/initial slots must be 1\.\.2/);
  });
});

describe('Admission under the AIMD policy', () => {
  it('keeps running sessions when the limit halves, and admits waiters again as it grows back', async () => {
    let clock = 0;
    const policy = new AimdSlotPolicy({ ceiling: 2, targetLatencyMs: 500, now: () => clock });
    const admission = new Admission(policy);
    const signal = new AbortController().signal;
    const first = await admission.acquire(() => undefined, signal);
    await admission.acquire(() => undefined, signal);
    const positions: number[] = [];
    let thirdGranted = false;
    const third = admission.acquire((p) => positions.push(p), signal).then((slot) => {
      thirdGranted = true;
      return slot;
    });
    expect(positions).toEqual([1]);

    clock += 10;
    policy.observeCommitLatency(1500);
    expect(admission.slotsLimit).toBe(1);
    first.release();
    await Promise.resolve();
    expect(thirdGranted).toBe(false);
    expect(admission.slotsBusy).toBe(1);

    clock += 600;
    policy.observeCommitLatency(100);
    admission.rebalance();
    await third;
    expect(admission.slotsBusy).toBe(2);
  });
});
