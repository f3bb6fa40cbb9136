/**
 * How many sessions may write at once. The fixed policy is the ceiling an adaptive (AIMD) policy will move
 * below, fed with measured commit latency through `observeCommitLatency`.
 */
export interface SlotPolicy {
  limit(): number;
  observeCommitLatency(ms: number): void;
}

export class FixedSlotPolicy implements SlotPolicy {
  constructor(private readonly maxSessions: number) {
    if (!Number.isInteger(maxSessions) || maxSessions < 1) throw new RangeError(`maxSessions must be a positive integer, got ${maxSessions}`);
  }

  limit(): number {
    return this.maxSessions;
  }

  observeCommitLatency(_ms: number): void {
    // A fixed number of slots does not react to latency.
  }
}
