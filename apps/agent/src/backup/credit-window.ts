/**
 * The receiver's grant: bytes of file content and file operations (one per chunk entry; the receiver gives back
 * those of entries needing no content with the chunk's plan) the agent may have outstanding. Grants arrive in
 * Welcome and then in Credit messages, each adding to what is left; the agent never spends more than it holds, so
 * a slow repository slows the sender instead of filling socket buffers.
 */
interface Waiter {
  readonly ready: () => boolean;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

export class CreditWindow {
  private waiters: Waiter[] = [];
  private failure: Error | null = null;

  constructor(
    private bytesLeft: number,
    private opsLeft: number,
  ) {}

  get bytes(): number {
    return this.bytesLeft;
  }

  get ops(): number {
    return this.opsLeft;
  }

  grant(bytes: number, ops: number): void {
    this.bytesLeft += bytes;
    this.opsLeft += ops;
    this.wake();
  }

  /** Returns bytes taken but not used (a file shorter than expected). */
  refundBytes(bytes: number): void {
    this.grant(bytes, 0);
  }

  /**
   * Takes up to `wanted` ops, waiting while fewer are left. When `mayShrink()` says nothing outstanding
   * can bring more credit, it settles for what is left (at least 1), so a grant smaller than one full
   * chunk slows the sender down instead of stopping it.
   */
  async takeOps(wanted: number, mayShrink: () => boolean): Promise<number> {
    if (wanted === 0) return 0;
    await this.until(() => this.opsLeft >= wanted || (this.opsLeft > 0 && mayShrink()));
    const taken = Math.min(wanted, this.opsLeft);
    this.opsLeft -= taken;
    return taken;
  }

  /** Takes between 1 and `max` bytes, waiting until at least one is granted. */
  async takeBytes(max: number): Promise<number> {
    await this.until(() => this.bytesLeft > 0);
    const taken = Math.min(max, this.bytesLeft);
    this.bytesLeft -= taken;
    return taken;
  }

  /** Re-evaluates waiting conditions that depend on outside state (see takeOps). */
  wake(): void {
    if (this.waiters.length === 0) return;
    const waiting = this.waiters;
    this.waiters = [];
    for (const waiter of waiting) {
      if (waiter.ready()) waiter.resolve();
      else this.waiters.push(waiter);
    }
  }

  /** Rejects every waiter now and later (the session is over). */
  fail(error: Error): void {
    this.failure ??= error;
    const waiting = this.waiters;
    this.waiters = [];
    for (const waiter of waiting) waiter.reject(error);
  }

  private until(ready: () => boolean): Promise<void> {
    if (this.failure !== null) return Promise.reject(this.failure);
    if (ready()) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ ready, resolve, reject }));
  }
}
