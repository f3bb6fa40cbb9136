/** Counts events per second over a sliding window of whole seconds. */
export class RateWindow {
  private readonly buckets: number[];
  private readonly stamps: number[];

  constructor(
    private readonly seconds = 10,
    private readonly now: () => number = Date.now,
  ) {
    this.buckets = new Array<number>(seconds).fill(0);
    this.stamps = new Array<number>(seconds).fill(-1);
  }

  add(amount: number): void {
    const second = Math.floor(this.now() / 1000);
    const slot = second % this.seconds;
    if (this.stamps[slot] !== second) {
      this.stamps[slot] = second;
      this.buckets[slot] = 0;
    }
    this.buckets[slot] = (this.buckets[slot] ?? 0) + amount;
  }

  /** Average per second over the completed seconds of the window (the current second is partial). */
  perSecond(): number {
    const current = Math.floor(this.now() / 1000);
    let total = 0;
    for (let i = 0; i < this.seconds; i++) {
      const stamp = this.stamps[i] ?? -1;
      if (stamp < current && stamp >= current - (this.seconds - 1)) total += this.buckets[i] ?? 0;
    }
    return total / (this.seconds - 1);
  }
}
