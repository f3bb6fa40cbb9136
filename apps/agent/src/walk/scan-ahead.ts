/**
 * Directory scans started before the walk reaches their directory. The walk is depth first and post-order, so
 * on its own it scans one directory at a time: a large directory's lstats and then, one round trip to the
 * worker threads each, the hundreds of small directories after it. Here every scanned directory (wholly
 * included) queues its subdirectories, breadth first, and up to `maxInFlight` scans run on libuv's workers
 * while the walk digests what it has; the walk takes a directory's scan when it gets there, or scans it then
 * when it was not started.
 *
 * Bounded: at most `maxHeldEntries` entries of scans finished and not taken are held (a scan is started only
 * below that). Scans are of the directory as it is when scanned, as the
 * walk's own scans are; a directory that vanishes or cannot be read fails its scan, which the walk reports
 * when it takes it.
 */
import { DirectoryScan } from '@berth/posix';

interface Started {
  readonly promise: Promise<Buffer>;
  /** Entries, once finished; counted as held until taken. */
  entries: number;
  taken: boolean;
}

export class ScanAhead {
  private readonly started = new Map<string, Started>();
  /**
   * Directories queued and not started. Each directory is queued once: by the expansion of its parent's scan,
   * which happens once (when the scan ahead finishes, or when the walk scanned the parent itself).
   */
  private readonly waiting = new Set<string>();
  private readonly queue: Buffer[] = [];
  private head = 0;
  private inFlight = 0;
  private heldEntries = 0;
  private closed = false;

  constructor(
    private readonly scan: (path: Buffer) => Promise<Buffer>,
    /** The subdirectories of a scanned directory that the walk will enter (not excluded, not skipped). */
    private readonly subdirectories: (path: Buffer, scan: DirectoryScan) => Buffer[],
    private readonly maxInFlight: number,
    private readonly maxHeldEntries: number,
  ) {}

  /** The scan of `path` if one was started; the walk owns it from now on (and scans it itself otherwise). */
  take(path: Buffer): Promise<Buffer> | null {
    const key = path.toString('latin1');
    const started = this.started.get(key);
    if (started === undefined) {
      this.waiting.delete(key);
      return null;
    }
    this.started.delete(key);
    started.taken = true;
    this.heldEntries -= started.entries;
    this.pump();
    return started.promise;
  }

  /** Queues the subdirectories of a directory the walk scanned itself. */
  expand(path: Buffer, scan: DirectoryScan): void {
    for (const child of this.subdirectories(path, scan)) this.enqueue(child);
    this.pump();
  }

  /** No more scans are started (the walk is over or abandoned). */
  close(): void {
    this.closed = true;
    this.waiting.clear();
    this.queue.length = 0;
    this.head = 0;
  }

  private enqueue(path: Buffer): void {
    this.waiting.add(path.toString('latin1'));
    this.queue.push(path);
  }

  private pump(): void {
    while (!this.closed && this.inFlight < this.maxInFlight && this.heldEntries < this.maxHeldEntries && this.head < this.queue.length) {
      const path = this.queue[this.head++]!;
      if (this.head === this.queue.length) {
        this.queue.length = 0;
        this.head = 0;
      }
      // Not when the walk got there first and scanned it itself.
      if (this.waiting.delete(path.toString('latin1'))) this.start(path);
    }
  }

  private start(path: Buffer): void {
    this.inFlight += 1;
    const promise = this.scan(path);
    const started: Started = { promise, entries: 0, taken: false };
    this.started.set(path.toString('latin1'), started);
    promise.then(
      (buffer) => {
        this.inFlight -= 1;
        if (this.closed) return;
        const scan = new DirectoryScan(buffer);
        if (!started.taken) {
          started.entries = scan.length;
          this.heldEntries += scan.length;
        }
        this.expand(path, scan);
      },
      () => {
        // The walk reports the failure when it takes this scan.
        this.inFlight -= 1;
        this.pump();
      },
    );
  }
}
