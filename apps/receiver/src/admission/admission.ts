import { type SlotPolicy } from './slot-policy';

/** A granted repository slot; release exactly once when the session ends. */
export interface Slot {
  release(): void;
}

interface Waiter {
  readonly grant: (slot: Slot) => void;
  readonly onPosition: (position: number) => void;
  lastPosition: number;
}

export class AdmissionAbortedError extends Error {
  override readonly name = 'AdmissionAbortedError';
}

/**
 * Admission to the repository: at most `policy.limit()` sessions at once, the rest in a fair FIFO line.
 * A waiter is told its 1-based position on entry and whenever it changes. The limit is read from the
 * policy each time a slot frees, so an adaptive policy can grow or shrink it.
 */
export class Admission {
  private busy = 0;
  private readonly line: Waiter[] = [];

  constructor(private readonly policy: SlotPolicy) {}

  get slotsBusy(): number {
    return this.busy;
  }

  get slotsLimit(): number {
    return this.policy.limit();
  }

  get waiting(): number {
    return this.line.length;
  }

  /** Slots a session asking now would get at once (none while any session waits). */
  get freeSlots(): number {
    return this.line.length === 0 ? Math.max(0, this.policy.limit() - this.busy) : 0;
  }

  /** Resolves with a slot; rejects with AdmissionAbortedError when `signal` aborts first. */
  acquire(onPosition: (position: number) => void, signal: AbortSignal): Promise<Slot> {
    if (signal.aborted) return Promise.reject(new AdmissionAbortedError('admission aborted'));
    if (this.line.length === 0 && this.busy < this.policy.limit()) return Promise.resolve(this.grantSlot());
    return new Promise<Slot>((resolve, reject) => {
      const onAbort = (): void => {
        const index = this.line.indexOf(waiter);
        if (index === -1) return;
        this.line.splice(index, 1);
        reject(new AdmissionAbortedError('admission aborted'));
        this.notifyPositions();
      };
      const waiter: Waiter = {
        grant: (slot) => {
          signal.removeEventListener('abort', onAbort);
          resolve(slot);
        },
        onPosition,
        lastPosition: this.line.length + 1,
      };
      this.line.push(waiter);
      signal.addEventListener('abort', onAbort, { once: true });
      onPosition(waiter.lastPosition);
    });
  }

  /** Re-reads the policy's limit and admits waiters if it grew. */
  rebalance(): void {
    while (this.line.length > 0 && this.busy < this.policy.limit()) {
      const next = this.line.shift() as Waiter;
      next.grant(this.grantSlot());
    }
    this.notifyPositions();
  }

  private grantSlot(): Slot {
    this.busy += 1;
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.busy -= 1;
        this.rebalance();
      },
    };
  }

  private notifyPositions(): void {
    this.line.forEach((waiter, index) => {
      const position = index + 1;
      if (position === waiter.lastPosition) return;
      waiter.lastPosition = position;
      waiter.onPosition(position);
    });
  }
}
