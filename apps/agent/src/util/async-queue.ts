/** A FIFO between one producer and one consumer; `close()` ends the consumer's iteration. */
export class AsyncQueue<T> {
  private readonly items: T[] = [];
  private closed = false;
  private wake: (() => void) | null = null;

  get length(): number {
    return this.items.length;
  }

  push(item: T): void {
    if (this.closed) throw new Error('push after close');
    this.items.push(item);
    this.wake?.();
  }

  close(): void {
    this.closed = true;
    this.wake?.();
  }

  /** Resolves once an item is there or the queue is closed (shift() then does not wait). */
  async whenReady(): Promise<void> {
    while (this.items.length === 0 && !this.closed) {
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = null;
    }
  }

  /** Resolves with the next item, or null once closed and drained. */
  async shift(): Promise<T | null> {
    for (;;) {
      if (this.items.length > 0) return this.items.shift()!;
      if (this.closed) return null;
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = null;
    }
  }
}
