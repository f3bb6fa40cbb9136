/**
 * Counts the content an attempt sends again: bytes of files at or before the furthest point an earlier attempt of
 * the run is known to have sent (in the fixed walk order), up to that point's offset inside its file. The earlier
 * point comes from this agent's own memory of the run (it survives a receiver restart or a cut connection) and from
 * the receiver's Welcome (it survives this agent being killed); the furthest of the two counts.
 */
import { compareWalkOrder, furthestPosition as furthestOf, type SentPosition } from '@berth/wire';

/** Furthest point sent per run, kept by the agent process across the attempts it runs. */
export class SentLedger {
  private readonly runs = new Map<string, SentPosition>();

  get(runId: string): SentPosition | null {
    return this.runs.get(runId) ?? null;
  }

  /** Keeps the furthest of what is known and `position`. */
  note(runId: string, position: SentPosition | null): void {
    const known = this.runs.get(runId) ?? null;
    const furthest = furthestOf(known, position);
    if (furthest !== null) this.runs.set(runId, furthest);
  }

  forget(runId: string): void {
    this.runs.delete(runId);
  }
}

export class ResendTracker {
  private earlier: SentPosition | null;
  private reached: SentPosition | null = null;
  private resent = 0;

  /** `known`: whether an earlier attempt's reach is known at all (a first attempt knows there is none). */
  constructor(
    earlier: SentPosition | null,
    private known: boolean,
  ) {
    this.earlier = earlier;
    this.known ||= earlier !== null;
  }

  /** The controller says this is the run's first attempt: nothing was sent before it. */
  knowNoEarlierAttempt(): void {
    this.known = true;
  }

  /** Adds what the receiver says earlier attempts reached. */
  learn(position: SentPosition | null): void {
    if (position === null) return;
    this.earlier = furthestOf(this.earlier, position);
    this.known = true;
  }

  /** Bytes sent again so far; null when nothing is known of how far earlier attempts got. */
  get bytesResent(): number | null {
    return this.known ? this.resent : null;
  }

  /** The furthest point sent by this attempt or known of earlier ones. */
  get furthest(): SentPosition | null {
    return furthestOf(this.earlier, this.reached);
  }

  /**
   * Starts counting the content of one file: whole content from byte `start` (0, or after chunks the receiver
   * holds), or a delta (`start` null: its bytes are not file offsets, the whole file counts). Returns the callback
   * for each piece sent.
   */
  file(dir: Buffer, name: Buffer, start: bigint | null): (bytes: number) => void {
    let again = this.resendAllowance(dir, name, start);
    let offset = start;
    return (bytes) => {
      const counted = Math.min(bytes, again);
      again -= counted;
      this.resent += counted;
      if (offset !== null) offset += BigInt(bytes);
      this.reached = furthestOf(this.reached, { dir, name, offset });
    };
  }

  /** How many of the bytes about to be sent for this file an earlier attempt had sent. */
  private resendAllowance(dir: Buffer, name: Buffer, start: bigint | null): number {
    const earlier = this.earlier;
    if (earlier === null) return 0;
    const order = compareWalkOrder({ dir, name }, earlier);
    if (order < 0) return Number.POSITIVE_INFINITY;
    if (order > 0) return 0;
    if (start === null || earlier.offset === null) return Number.POSITIVE_INFINITY;
    return Math.max(0, Number(earlier.offset - start));
  }
}
