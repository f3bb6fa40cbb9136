export interface BucketClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realClock: BucketClock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/**
 * A token bucket refilled at `ratePerSecond`, holding at most `burst` tokens. `take(n)` reserves at once
 * and waits for the debt to be repaid, so concurrent takers are served in call order and a request larger
 * than the burst (one 1 MiB chunk) is still allowed: it just waits longer.
 */
export class TokenBucket {
  private tokens: number;
  private stamp: number;

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    private readonly clock: BucketClock = realClock,
  ) {
    if (!(ratePerSecond > 0)) throw new RangeError(`token bucket rate must be positive, got ${ratePerSecond}`);
    if (!(burst > 0)) throw new RangeError(`token bucket burst must be positive, got ${burst}`);
    this.tokens = burst;
    this.stamp = clock.now();
  }

  /** Milliseconds the caller must wait for `amount` tokens reserved now. */
  reserve(amount: number): number {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.stamp) * this.ratePerSecond) / 1000);
    this.stamp = now;
    this.tokens -= amount;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens * 1000) / this.ratePerSecond);
  }

  async take(amount: number): Promise<void> {
    const waitMs = this.reserve(amount);
    if (waitMs > 0) await this.clock.sleep(waitMs);
  }
}
