/**
 * Reads small files ahead of the sender while content still goes out strictly in plan order. Without it,
 * every small file costs several sequential filesystem round trips (open, fstat, read, close) while the
 * connection idles; with it, the sender finds content ready. Files are read in batches on the reader thread
 * (see BatchReader): a new batch starts when what is read ahead falls to half its bounds, so batches stay
 * large and the thread is asked again before the sender runs dry. Bounded in files and bytes; large files
 * are not read ahead (they are streamed).
 */
import { batchReader, type BatchReader } from './batch-reader';
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

  constructor(
    private readonly limits: ReadAheadLimits = DEFAULT_READ_AHEAD,
    private readonly reader: BatchReader = batchReader,
  ) {}

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
    // Low-water mark: a batch of one or two files per take() would cost as many thread wake-ups as files.
    if (this.started > 0 && (this.started > this.limits.maxFiles / 2 || this.bytes > this.limits.maxBytes / 2)) return;
    const batch: Slot[] = [];
    while (this.cursor < this.queue.length) {
      const slot = this.queue[this.cursor]!;
      const size = Number(slot.target.expectedSize);
      if (size > this.limits.smallFileBytes) {
        this.cursor += 1;
        continue;
      }
      if (this.started >= this.limits.maxFiles || (this.started > 0 && this.bytes + size > this.limits.maxBytes)) break;
      batch.push(slot);
      this.started += 1;
      this.bytes += size;
      this.cursor += 1;
    }
    if (batch.length === 0) return;
    const read = this.reader.read(batch.map((slot) => ({ path: slot.target.path, expectedSize: Number(slot.target.expectedSize) })));
    batch.forEach((slot, i) => {
      // A reader thread that died fails its batch: each file is then read the ordinary way, errors and all.
      slot.content = read.then(
        (contents) => contents[i] as FileContent,
        () => readWholeFile(slot.target.path, Number(slot.target.expectedSize)),
      );
    });
  }
}
