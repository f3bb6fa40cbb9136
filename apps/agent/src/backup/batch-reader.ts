/**
 * Reads small files in batches on one worker thread with plain synchronous calls, hashing each there, and hands
 * a whole batch back in one message (its contents in one transferred buffer, never copied on the way). Once every
 * file of a batch was released (its bytes written to the connection) the buffer goes back to the worker, which
 * reads later batches into it: fresh memory costs a page fault per 4 KiB, 3-40 µs each on the virtual machines
 * measured. The worker keeps a few such buffers, bounded in bytes, and drops them once it has been idle a while.
 *
 * Why not the libuv thread pool: a small file there costs four pool round trips (open, fstat, read, close), each a
 * queue lock and two thread wake-ups. For 26,000 small files that was over a third of the agent's CPU, spent in
 * context switches and lock contention rather than in reading. A batch costs two wake-ups for dozens of files, and
 * the SHA-256 runs beside the sender instead of on its thread. The main thread never blocks on the disk: a slow or
 * hung read stalls only the worker (and the content waiting for it), never heartbeats.
 */
import { Worker } from 'node:worker_threads';
import { CONTENT_CHUNK_BYTES, ContentHasher } from '@berth/delta';
import { type FileContent, readErrorMessage, READ_FLAGS } from './file-reader';

export interface BatchFile {
  readonly path: Buffer;
  /** Size seen by lstat: sizes the read, not a limit (a file that grew is read to its end). */
  readonly expectedSize: number;
}

interface BatchRequest {
  readonly id: number;
  readonly flags: number;
  /**
   * Paths as latin1 strings (one char per byte, so any name survives): a Buffer would be cloned with the whole
   * pool slab it is a view of, several KiB per path.
   */
  readonly files: ReadonlyArray<{ readonly path: string; readonly size: number }>;
}

interface FileResult {
  /** Where the content lies in the batch buffer, or in `own` (a file that grew past its slot). */
  readonly offset: number;
  readonly size: number;
  readonly own: ArrayBuffer | null;
  readonly error: { readonly code: string | undefined; readonly message: string } | null;
}

/** A batch's buffer given back to the worker for later batches. */
interface Recycle {
  readonly recycle: ArrayBuffer;
}

interface BatchReply {
  readonly id: number;
  readonly data: ArrayBuffer;
  /** Whether `data` is a buffer given back earlier rather than a new one. */
  readonly reused: boolean;
  /** The files' SHA-256 of their bytes, 32 bytes each in request order (one buffer, not one small clone per file). */
  readonly digests: ArrayBuffer;
  readonly files: readonly FileResult[];
}

/** How many buffers given back the worker keeps, their bytes in all, and how long it keeps them once idle. */
export interface SpareLimits {
  readonly maxBuffers: number;
  readonly maxBytes: number;
  readonly idleMs: number;
}

/** Batches are up to ReadAhead's 16 MiB, most far smaller (64 small files): a few spares cover them. */
export const DEFAULT_SPARE_LIMITS: SpareLimits = { maxBuffers: 4, maxBytes: 16 * 1024 * 1024, idleMs: 5000 };

/**
 * The worker's code. Self-contained (its modules come from `load`), because it runs from source text: the same
 * text whether the agent runs compiled or under the test runner's transpiler.
 */
function batchReaderMain(load: (id: string) => unknown): void {
  const fs = load('node:fs') as typeof import('node:fs');
  const { createHash } = load('node:crypto') as typeof import('node:crypto');
  const threads = load('node:worker_threads') as typeof import('node:worker_threads');
  const parentPort = threads.parentPort;
  const limits = threads.workerData as SpareLimits;
  const GROWTH_READ_BYTES = 64 * 1024;
  // Buffers come in multiples of this, so one given back fits most later batches of about its size.
  const BUFFER_STEP = 64 * 1024;
  let spare: ArrayBuffer[] = [];
  // Spares are for a backup in progress: an agent between runs gives their memory back. Every message restarts it.
  const idle = setTimeout(() => {
    spare = [];
  }, limits.idleMs).unref();
  parentPort?.on('message', (message: BatchRequest | Recycle) => {
    idle.refresh();
    if ('recycle' in message) {
      // Kept largest first within the bounds: a large buffer fits every batch a small one does.
      spare.push(message.recycle);
      spare.sort((a, b) => b.byteLength - a.byteLength);
      let bytes = 0;
      spare = spare.filter((buffer) => {
        if (bytes + buffer.byteLength > limits.maxBytes) return false;
        bytes += buffer.byteLength;
        return true;
      });
      spare.length = Math.min(spare.length, limits.maxBuffers);
      return;
    }
    const request = message;
    let total = 0;
    for (const file of request.files) total += file.size + 1;
    // The smallest spare buffer that fits, else a new one, not zeroed: every byte given out is read over first, and
    // pages past the batch's end are then never touched.
    let fit = -1;
    spare.forEach((buffer, i) => {
      if (buffer.byteLength >= total && (fit < 0 || buffer.byteLength < (spare[fit] as ArrayBuffer).byteLength)) fit = i;
    });
    const data = fit >= 0 ? (spare.splice(fit, 1)[0] as ArrayBuffer) : Buffer.allocUnsafeSlow(Math.ceil(total / BUFFER_STEP) * BUFFER_STEP).buffer;
    const files: FileResult[] = [];
    const digests = new Uint8Array(32 * request.files.length);
    const transfer: ArrayBuffer[] = [data, digests.buffer];
    let offset = 0;
    for (const file of request.files) {
      // One byte more than lstat said: a full slot means the file grew, and the rest is read after it.
      const slot = new Uint8Array(data, offset, file.size + 1);
      const hash = createHash('sha256');
      let size = 0;
      let own: Uint8Array | null = null;
      let error: FileResult['error'] = null;
      let fd: number | null = null;
      try {
        fd = fs.openSync(Buffer.from(file.path, 'latin1'), request.flags);
        if (!fs.fstatSync(fd).isFile()) throw new Error('no longer a regular file');
        // A short read of a regular file means its end was reached.
        size = fs.readSync(fd, slot, 0, slot.length, 0);
        if (size === slot.length) {
          const pieces: Uint8Array[] = [slot];
          for (;;) {
            const piece = new Uint8Array(GROWTH_READ_BYTES);
            const bytesRead = fs.readSync(fd, piece, 0, piece.length, size);
            if (bytesRead === 0) break;
            pieces.push(piece.subarray(0, bytesRead));
            size += bytesRead;
            if (bytesRead < piece.length) break;
          }
          own = new Uint8Array(size);
          let at = 0;
          for (const piece of pieces) {
            own.set(piece, at);
            at += piece.length;
          }
        }
      } catch (caught) {
        const failure = caught as NodeJS.ErrnoException;
        error = { code: failure.code, message: failure.message };
        // What was read before the failure is kept, with the error beside it (a growth read that failed is dropped).
        own = null;
        size = Math.min(size, slot.length);
      } finally {
        if (fd !== null) {
          try {
            fs.closeSync(fd);
          } catch {
            // Closing a descriptor only read from loses nothing.
          }
        }
      }
      const content = own ?? slot.subarray(0, size);
      digests.set(hash.update(content).digest(), 32 * files.length);
      if (own !== null) transfer.push(own.buffer as ArrayBuffer);
      files.push({ offset, size, own: own === null ? null : (own.buffer as ArrayBuffer), error });
      offset += slot.length;
    }
    const reply: BatchReply = { id: request.id, data, reused: fit >= 0, digests: digests.buffer, files };
    parentPort.postMessage(reply, transfer);
  });
}

const WORKER_SOURCE = `(${batchReaderMain.toString()})(require);`;

interface Pending {
  readonly resolve: (contents: FileContent[]) => void;
  readonly reject: (error: Error) => void;
}

/**
 * The process' one batch reader: started on first use, kept while requests are outstanding, and not keeping the
 * process alive when idle. A worker that dies fails what it was reading, and the next request starts a new one.
 */
export class BatchReader {
  private worker: Worker | null = null;
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();
  private batchCount = 0;
  private reusedCount = 0;

  constructor(private readonly spareLimits: SpareLimits = DEFAULT_SPARE_LIMITS) {}

  /** Batches read, and how many of them into a buffer given back rather than a new one. */
  get stats(): { readonly batches: number; readonly reused: number } {
    return { batches: this.batchCount, reused: this.reusedCount };
  }

  /**
   * Starts the reading thread before the first batch needs it (the agent does at startup, while it waits for jobs):
   * its start is then not paid by the first backup. Returns its thread id (worker_threads' threadId).
   */
  start(): number {
    return this.ensureWorker().threadId;
  }

  read(files: readonly BatchFile[]): Promise<FileContent[]> {
    if (files.length === 0) return Promise.resolve([]);
    const worker = this.ensureWorker();
    const id = this.nextId++;
    const request: BatchRequest = { id, flags: READ_FLAGS, files: files.map((file) => ({ path: file.path.toString('latin1'), size: file.expectedSize })) };
    return new Promise<FileContent[]>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (this.pending.size === 1) worker.ref();
      worker.postMessage(request);
    });
  }

  private ensureWorker(): Worker {
    if (this.worker !== null) return this.worker;
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: this.spareLimits });
    worker.unref();
    worker.on('message', (reply: BatchReply) => this.settle(reply));
    worker.on('error', (error) => this.lose(worker, error));
    worker.on('exit', (code) => this.lose(worker, new Error(`the file reader thread exited (code ${code})`)));
    this.worker = worker;
    return worker;
  }

  private settle(reply: BatchReply): void {
    const waiter = this.pending.get(reply.id);
    if (waiter === undefined) return;
    this.pending.delete(reply.id);
    if (this.pending.size === 0) this.worker?.unref();
    this.batchCount += 1;
    if (reply.reused) this.reusedCount += 1;
    const worker = this.worker;
    let outstanding = reply.files.length;
    const releaser = (): (() => void) => {
      let released = false;
      return () => {
        if (released) return;
        released = true;
        outstanding -= 1;
        // The last file of the batch written: the buffer goes back (detached here, so a stale view reads as empty).
        if (outstanding !== 0 || worker === null || worker !== this.worker) return;
        try {
          worker.postMessage({ recycle: reply.data } satisfies Recycle, [reply.data]);
        } catch {
          // Called from a socket's write callback: a buffer that cannot go back is left to the collector.
        }
      };
    };
    waiter.resolve(
      reply.files.map((file, i) => {
        const content = file.own === null ? Buffer.from(reply.data, file.offset, file.size) : Buffer.from(file.own);
        const error = file.error === null ? null : readErrorMessage(Object.assign(new Error(file.error.message), { code: file.error.code }));
        // The worker's SHA-256 of the bytes is the content hash up to one chunk; a file that grew past that while it
        // was read is named by its chunk-list hash, computed here (rare: the worker stays self-contained).
        const sha256 = content.length > CONTENT_CHUNK_BYTES ? new ContentHasher().update(content).digest() : Buffer.from(reply.digests, 32 * i, 32);
        return { pieces: content.length === 0 ? [] : [content], size: file.size, sha256, error, release: releaser() };
      }),
    );
  }

  private lose(worker: Worker, error: Error): void {
    if (this.worker !== worker) return;
    this.worker = null;
    const waiters = [...this.pending.values()];
    this.pending.clear();
    for (const waiter of waiters) waiter.reject(error);
  }
}

/** Shared by every session of the process: one reader thread is enough to keep ahead of the link. */
export const batchReader = new BatchReader();
