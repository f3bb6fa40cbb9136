import { type SlotPolicy } from './slot-policy';

export interface AimdOptions {
  /** The most slots ever granted (maxSessions). */
  readonly ceiling: number;
  /** Commit latency the policy steers to: under it slots grow by one, above it they halve. */
  readonly targetLatencyMs: number;
  /**
   * Least time between two changes in the same direction. One slow commit is usually followed by others
   * from the same congestion; reacting to each would collapse the limit to 1 at once. Default: the target.
   */
  readonly reactionIntervalMs?: number;
  /** Slots at start; default the ceiling (the operator's number, cut back on evidence). */
  readonly initial?: number;
  readonly now?: () => number;
}

/**
 * Additive increase, multiplicative decrease of the number of writing sessions, steered by measured commit
 * latency (time from a directory's last byte to its durable commit). A slow disk shows up as rising latency
 * long before anything fails; fewer concurrent writers then share it, the rest wait in line.
 */
export class AimdSlotPolicy implements SlotPolicy {
  private current: number;
  private lastIncrease = Number.NEGATIVE_INFINITY;
  private lastDecrease = Number.NEGATIVE_INFINITY;
  private readonly interval: number;
  private readonly now: () => number;

  constructor(private readonly options: AimdOptions) {
    const { ceiling, targetLatencyMs } = options;
    if (!Number.isInteger(ceiling) || ceiling < 1) throw new RangeError(`AIMD ceiling must be a positive integer, got ${ceiling}`);
    if (!(targetLatencyMs > 0)) throw new RangeError(`AIMD target latency must be positive, got ${targetLatencyMs}`);
    const initial = options.initial ?? ceiling;
    if (!Number.isInteger(initial) || initial < 1 || initial > ceiling) throw new RangeError(`AIMD initial slots must be 1..${ceiling}, got ${initial}`);
    this.current = initial;
    this.interval = options.reactionIntervalMs ?? targetLatencyMs;
    this.now = options.now ?? Date.now;
  }

  limit(): number {
    return this.current;
  }

  observeCommitLatency(ms: number): void {
    const now = this.now();
    if (ms > this.options.targetLatencyMs) {
      if (now - this.lastDecrease < this.interval) return;
      this.current = Math.max(1, Math.floor(this.current / 2));
      this.lastDecrease = now;
      // Growth waits a full interval after a cut: commits already in flight still carry the old load.
      this.lastIncrease = now;
      return;
    }
    if (now - this.lastIncrease < this.interval) return;
    if (this.current < this.options.ceiling) this.current += 1;
    this.lastIncrease = now;
  }
}
