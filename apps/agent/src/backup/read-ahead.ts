/**
 * Reads small files ahead of the sender, in parallel, while content still goes out strictly in plan
 * order. Without it, every small file costs several sequential filesystem round trips (open, fstat,
 * read, close) while the connection idles; with it, the thread pool stays busy and the sender finds
 * content ready. Bounded in files and bytes; large files are not read ahead (they are streamed).
 */
import { readWholeFile, type FileContent } from './file-reader';

export interface ContentTarget {
  readonly seq: number;
  readonly index: number;
  readonly path: Buffer;
  /** Size seen by lstat. */
  readonly expectedSize: bigint;
}

export interface AheadItem {
  readonly target: ContentTarget;
  /** The content read ahead, or null when the file is to be streamed by the sender. */
  readonly content: Promise<FileContent> | null;
}

interface Slot {
  readonly target: ContentTarget;
  content: Promise<FileContent> | null;
}

export interface ReadAheadLimits {
  /** Files larger than this are streamed, not read ahead. */
  readonly smallFileBytes: number;
  /** Files read ahead and not yet taken, at most. */
  readonly maxFiles: number;
  /** Bytes read ahead and not yet taken, at most (one file may exceed it alone). */
  readonly maxBytes: number;
}

export const DEFAULT_READ_AHEAD: ReadAheadLimits = { smallFileBytes: 1024 * 1024, maxFiles: 64, maxBytes: 16 * 1024 * 1024 };

export class ReadAhead {
  private readonly queue: Slot[] = [];
  private started = 0;
  private bytes = 0;
  /** Index in queue of the first slot not yet considered for reading. */
  private cursor = 0;

  constructor(private readonly limits: ReadAheadLimits = DEFAULT_READ_AHEAD) {}

  add(target: ContentTarget): void {
    this.queue.push({ target, content: null });
    this.pump();
  }

  /** The next file in order; throws when none was added (a bug in the caller's order). */
  take(): AheadItem {
    const slot = this.queue.shift();
    if (slot === undefined) throw new Error('read-ahead queue is empty');
    this.cursor = Math.max(0, this.cursor - 1);
    if (slot.content !== null) {
      this.started -= 1;
      this.bytes -= Number(slot.target.expectedSize);
    }
    this.pump();
    const small = Number(slot.target.expectedSize) <= this.limits.smallFileBytes;
    return { target: slot.target, content: slot.content ?? (small ? readWholeFile(slot.target.path, Number(slot.target.expectedSize)) : null) };
  }

  private pump(): void {
    while (this.cursor < this.queue.length) {
      const slot = this.queue[this.cursor]!;
      const size = Number(slot.target.expectedSize);
      if (size > this.limits.smallFileBytes) {
        this.cursor += 1;
        continue;
      }
      if (this.started >= this.limits.maxFiles || (this.started > 0 && this.bytes + size > this.limits.maxBytes)) return;
      slot.content = readWholeFile(slot.target.path, size);
      this.started += 1;
      this.bytes += size;
      this.cursor += 1;
    }
  }
}
