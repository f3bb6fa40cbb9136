import { Admission, AdmissionAbortedError, type Slot } from './admission';
import { FixedSlotPolicy, type SlotPolicy } from './slot-policy';

function waiter(admission: Admission, signal = new AbortController().signal): { positions: number[]; slot: Promise<Slot> } {
  const positions: number[] = [];
  return { positions, slot: admission.acquire((p) => positions.push(p), signal) };
}

describe('Admission', () => {
  it('grants free slots at once and queues the rest in FIFO order with their positions', async () => {
    const admission = new Admission(new FixedSlotPolicy(2));
    const a = waiter(admission);
    const b = waiter(admission);
    const c = waiter(admission);
    const d = waiter(admission);
    const slotA = await a.slot;
    await b.slot;
    expect(a.positions).toEqual([]);
    expect(c.positions).toEqual([1]);
    expect(d.positions).toEqual([2]);
    expect(admission.slotsBusy).toBe(2);
    expect(admission.waiting).toBe(2);
    slotA.release();
    slotA.release();
    await c.slot;
    expect(d.positions).toEqual([2, 1]);
    expect(admission.slotsBusy).toBe(2);
    expect(admission.waiting).toBe(1);
  });

  it('counts as free only the slots a session asking now would get at once', async () => {
    const admission = new Admission(new FixedSlotPolicy(2));
    expect(admission.freeSlots).toBe(2);
    const a = await waiter(admission).slot;
    expect(admission.freeSlots).toBe(1);
    const b = await waiter(admission).slot;
    const c = waiter(admission);
    expect(admission.freeSlots).toBe(0);
    a.release();
    await c.slot;
    expect(admission.freeSlots).toBe(0);
    b.release();
    expect(admission.freeSlots).toBe(1);
  });

  it('drops an aborted waiter and moves the ones behind it up', async () => {
    const admission = new Admission(new FixedSlotPolicy(1));
    const holder = await waiter(admission).slot;
    const gone = new AbortController();
    const b = waiter(admission, gone.signal);
    const c = waiter(admission);
    gone.abort();
    await expect(b.slot).rejects.toBeInstanceOf(AdmissionAbortedError);
    expect(c.positions).toEqual([2, 1]);
    holder.release();
    await c.slot;
    expect(admission.waiting).toBe(0);
  });

  it('admits more waiters when the policy raises its limit', async () => {
    let limit = 1;
    const policy: SlotPolicy = { limit: () => limit, observeCommitLatency: () => undefined };
    const admission = new Admission(policy);
    await waiter(admission).slot;
    const b = waiter(admission);
    limit = 2;
    admission.rebalance();
    await b.slot;
    expect(admission.slotsBusy).toBe(2);
  });

  it('rejects a non-positive fixed limit', () => {
    expect(() => new FixedSlotPolicy(0)).toThrow(RangeError);
  });
});
