/**
 * The walk started as soon as the job is taken, before the controller has answered runStart and before the
 * receiver's Welcome says which directories an earlier attempt committed. A first attempt skips none, so the
 * walk (lstat of every entry and the directory digests: most of backing up an unchanged tree) overlaps those
 * round trips instead of following them. When the Welcome does name directories to skip (a resumed attempt),
 * this walk is stopped unused and its problems are dropped with it; the caller walks again with the skips.
 *
 * The walk runs at most `maxEntries` entries ahead of its consumer (a single directory larger than that is
 * still one listing), so a slow session never buffers a whole large tree.
 */
import { type DirectoryListing, type WalkProblem } from './tree-walker';

export class WalkAhead {
  private readonly ready: DirectoryListing[] = [];
  private head = 0;
  private readonly problems: WalkProblem[] = [];
  private sink: ((problem: WalkProblem) => void) | null = null;
  private buffered = 0;
  private done = false;
  private failure: { error: unknown } | null = null;
  private stopped = false;
  private taken = false;
  private wakeConsumer: (() => void) | null = null;
  private wakeWalk: (() => void) | null = null;

  /** `walk` is called at once with the problem callback to give its walker. */
  constructor(
    walk: (onProblem: (problem: WalkProblem) => void) => AsyncIterable<DirectoryListing>,
    private readonly maxEntries: number,
  ) {
    void this.pump(walk);
  }

  /** The walk's listings, from the first; its problems go to `onProblem` from now on (those found so far at once). */
  take(onProblem: (problem: WalkProblem) => void): AsyncIterable<DirectoryListing> {
    if (this.taken || this.stopped) throw new Error('the walk ahead was already taken or stopped');
    this.taken = true;
    for (const problem of this.problems) onProblem(problem);
    this.problems.length = 0;
    this.sink = onProblem;
    return this.listings();
  }

  /** Stops the walk (unused, or its consumer is done); idempotent. */
  stop(): void {
    this.stopped = true;
    this.wakeWalk?.();
  }

  private async *listings(): AsyncGenerator<DirectoryListing> {
    try {
      for (;;) {
        if (this.head < this.ready.length) {
          const listing = this.ready[this.head]!;
          this.ready[this.head++] = undefined as unknown as DirectoryListing;
          if (this.head === this.ready.length) {
            this.ready.length = 0;
            this.head = 0;
          }
          this.buffered -= listing.entryCount;
          this.wakeWalk?.();
          yield listing;
          continue;
        }
        if (this.failure !== null) throw this.failure.error;
        if (this.done) return;
        await new Promise<void>((resolve) => (this.wakeConsumer = resolve));
        this.wakeConsumer = null;
      }
    } finally {
      this.stop();
    }
  }

  private async pump(walk: (onProblem: (problem: WalkProblem) => void) => AsyncIterable<DirectoryListing>): Promise<void> {
    try {
      const listings = walk((problem) => {
        if (this.sink === null) this.problems.push(problem);
        else this.sink(problem);
      });
      for await (const listing of listings) {
        if (this.stopped) return;
        this.ready.push(listing);
        this.buffered += listing.entryCount;
        this.wakeConsumer?.();
        while (this.buffered > this.maxEntries && !this.stopped) {
          await new Promise<void>((resolve) => (this.wakeWalk = resolve));
          this.wakeWalk = null;
        }
        if (this.stopped) return;
      }
    } catch (error) {
      this.failure = { error };
    } finally {
      this.done = true;
      this.wakeConsumer?.();
    }
  }
}
