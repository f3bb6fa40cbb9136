import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { chunkListHash, CONTENT_CHUNK_BYTES, CONTENT_HASH_BYTES, ContentHasher } from './content-hash';

/**
 * SHA-256 of a byte stream, computed off the main thread once the stream is large.
 *
 * Why: SHA-256 runs at about 1.8 GB/s here (OpenSSL with SHA extensions); on a file whose blocks all match it
 * is more than half of the delta's work. A helper thread hashes while the main thread rolls and compares.
 *
 * How: bytes are copied into a ring of slots in a SharedArrayBuffer shared with the helper (one memcpy, no
 * allocation, nothing for the GC), and jobs are handed over with Atomics (a single-producer, single-consumer
 * queue: no message per slot; postMessage cost 0.4 ms per job on a busy machine). Memory is the ring (8 MiB per
 * process) whatever the number of streams; a stream waits for a free slot when the helper is behind.
 * Streams shorter than `OFFLOAD_BYTES` never leave the thread: their bytes are kept and hashed inline at the end.
 *
 * With `contentHash` the digest is Berth's content hash (content-hash.ts) instead of the SHA-256 of the bytes: the
 * helper hashes each CONTENT_CHUNK_BYTES chunk for its id and hands the ids back, which are hashed here (the same
 * work as one SHA-256 of the bytes). Each id is also handed back as soon as its chunk is hashed (`chunkId`): the
 * helper writes it next to the job that ended the chunk, and this thread collects it before that job's slot is
 * used again, so a delta can tell an unchanged chunk while it is still reading the file.
 */
export class Sha256Stream {
  private held: Uint8Array[] = [];
  private heldBytes = 0;
  /** The helper this stream's bytes went to (a replacement helper would not have them). */
  private worker: HashWorker | undefined;
  private id = 0;
  private finished = false;

  /**
   * @param contentHash the digest is the content hash (see above)
   * @param chunkIds with contentHash: keep the ids of this many first chunks for `chunkId` (32 bytes each, until the digest)
   */
  constructor(
    private readonly contentHash = false,
    private readonly chunkIds = 0,
  ) {}

  /**
   * Adds bytes (copied: the caller may reuse its buffer). Returns a promise only when it must wait for the
   * helper; await it before the next update, which keeps the bytes in order.
   */
  update(data: Uint8Array): Promise<void> | undefined {
    if (data.length === 0) return undefined;
    if (this.worker !== undefined) return this.worker.update(this.id, data);
    const copy = Buffer.allocUnsafe(data.length);
    copy.set(data);
    this.held.push(copy);
    this.heldBytes += data.length;
    return this.heldBytes >= OFFLOAD_BYTES ? this.offload() : undefined;
  }

  async digest(): Promise<Buffer> {
    this.finished = true;
    if (this.worker === undefined) {
      const inline = this.contentHash ? new ContentHasher() : createHash('sha256');
      for (const chunk of this.held) inline.update(chunk);
      this.held = [];
      return inline.digest();
    }
    return this.worker.digest(this.id);
  }

  /**
   * The id of content chunk `index` (one of the first `chunkIds` of a contentHash stream), once every byte of it has
   * gone through `update`: resolves when the helper has hashed it. Undefined while the stream has not left this
   * thread (under OFFLOAD_BYTES, so no chunk of it is complete), for a chunk not yet complete, or beyond `chunkIds`.
   */
  chunkId(index: number): Promise<Buffer | undefined> | undefined {
    if (index >= this.chunkIds || this.worker === undefined || this.finished) return undefined;
    return this.worker.chunkId(this.id, index);
  }

  /** Releases the helper's state when the stream is abandoned before `digest` (no-op afterwards). */
  abort(): void {
    this.held = [];
    if (this.worker !== undefined && !this.finished) this.worker.abort(this.id);
    this.finished = true;
  }

  private async offload(): Promise<void> {
    const worker = HashWorker.shared();
    this.worker = worker;
    this.id = worker.open(this.contentHash, this.chunkIds);
    const held = this.held;
    this.held = [];
    this.heldBytes = 0;
    for (const chunk of held) await worker.update(this.id, chunk);
  }
}

/** Streams shorter than this are hashed inline: handing them to the helper costs more than hashing them. */
export const OFFLOAD_BYTES = 1024 * 1024;

/**
 * Starts the helper thread before the first stream needs it (a long-running process calls this once it is up).
 * Otherwise the first large stream of a process pays for the thread's start and the first touch of its ring while
 * its bytes wait: 120 ms instead of 48 for the first 64 MiB hashed in a fresh process, on the machine measured.
 * Resolves once the helper has answered a first (empty) digest; like a stream, that keeps the process alive until the
 * helper answers, and the idle helper does not.
 */
export async function startHashHelper(): Promise<void> {
  await HashWorker.shared().warm();
}

/** The helper thread's id (worker_threads' threadId) while one runs, else null; for tests, not exported by the package. */
export function hashHelperThreadId(): number | null {
  return HashWorker.current()?.threadId ?? null;
}
/** One slot holds at most one chunk's worth, so a job ends at most one chunk (whose id goes in the job's result). */
const SLOT_BYTES = CONTENT_CHUNK_BYTES;
const SLOTS = 8;
/** Per job: a flag word (1 when the job ended a chunk) then that chunk's id. */
const RESULT_BYTES = 4 + CONTENT_HASH_BYTES;

/** Control words: jobs submitted (tail), jobs done (head), then per job slot: op, stream id, length. */
const TAIL = 0;
const HEAD = 1;
const JOBS = 2;
const JOB_WORDS = 3;
const JobOp = { Update: 1, Digest: 2, Abort: 3, UpdateChunked: 4 } as const;
/** Waits on the queue are bounded so that a dead helper is noticed. */
const WAIT_MS = 100;

/**
 * Code of the helper thread: takes jobs in order, one node:crypto Hash per stream id; digests go back by
 * postMessage (once per stream). It blocks in Atomics.wait and never runs its own event loop.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { control: controlBuffer, ring: ringBuffer, results: resultsBuffer, slotBytes, slots } = workerData;
const control = new Int32Array(controlBuffer);
const ring = new Uint8Array(ringBuffer);
const results = new Uint8Array(resultsBuffer);
const resultFlags = new Int32Array(resultsBuffer);
const hashes = new Map();
/** A stream hashed chunk by chunk: the digest is the chunks' ids, one after the other; each id also goes in its job's result. */
class Chunked {
  constructor() { this.hash = createHash('sha256'); this.inChunk = 0; this.ids = []; }
  update(data, job) {
    for (let offset = 0; offset < data.length; ) {
      const take = Math.min(${CONTENT_CHUNK_BYTES} - this.inChunk, data.length - offset);
      this.hash.update(data.subarray(offset, offset + take));
      this.inChunk += take;
      offset += take;
      if (this.inChunk === ${CONTENT_CHUNK_BYTES}) {
        const id = this.endChunk();
        results.set(id, job * ${RESULT_BYTES} + 4);
        resultFlags[job * ${RESULT_BYTES / 4}] = 1;
      }
    }
  }
  endChunk() { const id = this.hash.digest(); this.ids.push(id); this.hash = createHash('sha256'); this.inChunk = 0; return id; }
  digest() { if (this.inChunk > 0) this.endChunk(); return Buffer.concat(this.ids); }
}
let head = 0;
for (;;) {
  while (Atomics.load(control, ${TAIL}) === head) Atomics.wait(control, ${TAIL}, head);
  const job = head % slots;
  const base = ${JOBS} + job * ${JOB_WORDS};
  const op = control[base], id = control[base + 1], length = control[base + 2];
  resultFlags[job * ${RESULT_BYTES / 4}] = 0;
  if (op === ${JobOp.Update} || op === ${JobOp.UpdateChunked}) {
    let hash = hashes.get(id);
    if (hash === undefined) { hash = op === ${JobOp.Update} ? createHash('sha256') : new Chunked(); hashes.set(id, hash); }
    const data = ring.subarray(job * slotBytes, job * slotBytes + length);
    if (op === ${JobOp.Update}) hash.update(data); else hash.update(data, job);
  } else if (op === ${JobOp.Digest}) {
    const hash = hashes.get(id) ?? createHash('sha256');
    hashes.delete(id);
    parentPort.postMessage({ id, digest: new Uint8Array(hash.digest()) });
  } else {
    hashes.delete(id);
  }
  head++;
  Atomics.store(control, ${HEAD}, head);
  Atomics.notify(control, ${HEAD});
}
`;

/** The first `limit` chunk ids in order, 32 bytes each in one growing buffer (no object per id). */
class ChunkIdList {
  private bytes: Uint8Array;
  count = 0;

  constructor(private readonly limit: number) {
    this.bytes = new Uint8Array(Math.min(limit, 64) * CONTENT_HASH_BYTES);
  }

  push(id: Uint8Array): void {
    if (this.count === this.limit) return;
    if ((this.count + 1) * CONTENT_HASH_BYTES > this.bytes.length) {
      const grown = new Uint8Array(Math.min(this.limit, this.count * 2) * CONTENT_HASH_BYTES);
      grown.set(this.bytes);
      this.bytes = grown;
    }
    this.bytes.set(id, this.count * CONTENT_HASH_BYTES);
    this.count++;
  }

  get(index: number): Buffer {
    return Buffer.from(this.bytes.subarray(index * CONTENT_HASH_BYTES, (index + 1) * CONTENT_HASH_BYTES));
  }
}

interface DigestReply {
  readonly id: number;
  readonly digest: Uint8Array;
}

interface PendingDigest {
  readonly resolve: (digest: Buffer) => void;
  readonly reject: (error: Error) => void;
}

type WaitAsync = (array: Int32Array, index: number, value: number, timeoutMs: number) => { async: boolean; value: Promise<string> | string };
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

/** One helper thread per process, started on first use; it keeps the process alive only while streams are open. */
class HashWorker {
  private static instance: HashWorker | undefined;
  private readonly worker: Worker;
  private readonly control = new Int32Array(new SharedArrayBuffer(4 * (JOBS + SLOTS * JOB_WORDS)));
  private readonly ring = new Uint8Array(new SharedArrayBuffer(SLOTS * SLOT_BYTES));
  /** Per job slot, what the job handed back (see RESULT_BYTES); read by `collect` before the slot is reused. */
  private readonly results = new Uint8Array(new SharedArrayBuffer(SLOTS * RESULT_BYTES));
  private readonly resultFlags = new Int32Array(this.results.buffer);
  private tail = 0;
  /** Jobs whose results `collect` has read. */
  private collected = 0;
  /** The chunk ids handed back so far, per stream that keeps them (until its digest or abort). */
  private readonly chunkIds = new Map<number, ChunkIdList>();
  private readonly streams = new Set<number>();
  /** Streams whose digest is the content hash: the helper hands back their chunk ids and byte count. */
  private readonly chunked = new Map<number, number>();
  private readonly digests = new Map<number, PendingDigest>();
  private nextId = 1;
  private failure: Error | undefined;

  private constructor() {
    const workerData = { control: this.control.buffer, ring: this.ring.buffer, results: this.results.buffer, slotBytes: SLOT_BYTES, slots: SLOTS };
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData });
    this.worker.unref();
    this.worker.on('message', (reply: DigestReply) => this.onDigest(reply));
    this.worker.on('error', (error) => this.fail(error));
    this.worker.on('exit', (code) => this.fail(new Error(`SHA-256 helper thread exited with code ${code}`)));
  }

  static shared(): HashWorker {
    if (HashWorker.instance === undefined || HashWorker.instance.failure !== undefined) HashWorker.instance = new HashWorker();
    return HashWorker.instance;
  }

  /** The helper in use, if one was started and has not failed. */
  static current(): HashWorker | undefined {
    const instance = HashWorker.instance;
    return instance?.failure === undefined ? instance : undefined;
  }

  get threadId(): number {
    return this.worker.threadId;
  }

  /**
   * Touches the ring (its pages are faulted in now, not under a stream's updates) and has the helper digest nothing.
   * The ring is touched only while no job is queued: the helper reads a slot only between its submission and its end.
   */
  async warm(): Promise<void> {
    if (this.tail === Atomics.load(this.control, HEAD)) this.ring.fill(0);
    await this.digest(this.open(false));
  }

  /**
   * A new stream; with `contentHash`, its digest is the content hash (its updates go as UpdateChunked jobs, which the
   * helper hashes chunk by chunk; a stream is offloaded only with bytes to hash, so its first job says which).
   */
  open(contentHash: boolean, keepChunkIds = 0): number {
    this.check();
    const id = this.nextId++;
    this.streams.add(id);
    if (this.streams.size === 1) this.worker.ref();
    if (contentHash) this.chunked.set(id, 0);
    if (contentHash && keepChunkIds > 0) this.chunkIds.set(id, new ChunkIdList(keepChunkIds));
    return id;
  }

  /** Chunk `index` of stream `id` once hashed (see Sha256Stream.chunkId); undefined when it is not complete yet. */
  async chunkId(id: number, index: number): Promise<Buffer | undefined> {
    const counted = this.chunked.get(id);
    if (counted === undefined || (index + 1) * CONTENT_CHUNK_BYTES > counted) return undefined;
    for (;;) {
      const head = Atomics.load(this.control, HEAD);
      this.collect(head);
      const ids = this.chunkIds.get(id);
      if (ids === undefined) return undefined;
      if (index < ids.count) return ids.get(index);
      // Nothing queued could end it: its last bytes are still waiting for a slot.
      if (head === this.tail) return undefined;
      await this.jobDone(head);
    }
  }

  /** Copies `data` into slots and queues them; waits only when every slot is busy. */
  update(id: number, data: Uint8Array): Promise<void> | undefined {
    const counted = this.chunked.get(id);
    if (counted !== undefined) this.chunked.set(id, counted + data.length);
    const op = counted === undefined ? JobOp.Update : JobOp.UpdateChunked;
    for (let offset = 0; offset < data.length; offset += SLOT_BYTES) {
      if (!this.trySubmit(op, id, data.subarray(offset, offset + SLOT_BYTES))) return this.updateSlowly(op, id, data.subarray(offset));
    }
    return undefined;
  }

  async digest(id: number): Promise<Buffer> {
    const result = new Promise<Buffer>((resolve, reject) => this.digests.set(id, { resolve, reject }));
    // If the helper dies while this waits for a slot, the error is thrown below; do not leave `result` unhandled.
    result.catch(() => undefined);
    while (!this.trySubmit(JobOp.Digest, id)) await this.spaceFreed();
    return result;
  }

  abort(id: number): void {
    this.chunked.delete(id);
    this.chunkIds.delete(id);
    if (this.failure !== undefined || !this.streams.delete(id)) return;
    if (this.streams.size === 0) this.worker.unref();
    void this.submitEventually(JobOp.Abort, id).catch(() => undefined);
  }

  private async updateSlowly(op: number, id: number, data: Uint8Array): Promise<void> {
    for (let offset = 0; offset < data.length; offset += SLOT_BYTES) {
      const piece = data.subarray(offset, offset + SLOT_BYTES);
      while (!this.trySubmit(op, id, piece)) await this.spaceFreed();
    }
  }

  private async submitEventually(op: number, id: number): Promise<void> {
    while (!this.trySubmit(op, id)) await this.spaceFreed();
  }

  /** Queues one job if a slot is free; the piece is copied into the job's slot first. */
  private trySubmit(op: number, id: number, piece?: Uint8Array): boolean {
    this.check();
    if (this.tail - Atomics.load(this.control, HEAD) >= SLOTS) return false;
    // The slot about to be reused may hold a chunk id not read yet.
    this.collect(Atomics.load(this.control, HEAD));
    const job = this.tail % SLOTS;
    if (piece !== undefined) this.ring.set(piece, job * SLOT_BYTES);
    const base = JOBS + job * JOB_WORDS;
    this.control[base] = op;
    this.control[base + 1] = id;
    this.control[base + 2] = piece?.length ?? 0;
    this.tail++;
    Atomics.store(this.control, TAIL, this.tail);
    Atomics.notify(this.control, TAIL, 1);
    return true;
  }

  /** Resolves when the helper finishes a job (or after a short while, to notice a dead helper). */
  private async spaceFreed(): Promise<void> {
    const head = Atomics.load(this.control, HEAD);
    if (this.tail - head < SLOTS) return;
    await this.jobDone(head);
  }

  /** Resolves once the helper has finished more than `head` jobs (at once if it has), or after WAIT_MS. */
  private async jobDone(head: number): Promise<void> {
    const wait = waitAsync(this.control, HEAD, head, WAIT_MS);
    if (wait.async) await wait.value;
    this.check();
  }

  /** Reads the chunk ids the helper handed back with the jobs before `head` not read yet. */
  private collect(head: number): void {
    for (; this.collected < head; this.collected++) {
      const job = this.collected % SLOTS;
      if (this.resultFlags[(job * RESULT_BYTES) / 4] !== 1) continue;
      const at = job * RESULT_BYTES + 4;
      this.chunkIds.get(this.control[JOBS + job * JOB_WORDS + 1] as number)?.push(this.results.subarray(at, at + CONTENT_HASH_BYTES));
    }
  }

  private onDigest(reply: DigestReply): void {
    const pending = this.digests.get(reply.id);
    this.digests.delete(reply.id);
    this.streams.delete(reply.id);
    if (this.streams.size === 0) this.worker.unref();
    const size = this.chunked.get(reply.id);
    this.chunked.delete(reply.id);
    this.chunkIds.delete(reply.id);
    if (size === undefined) {
      pending?.resolve(Buffer.from(reply.digest));
      return;
    }
    const ids: Buffer[] = [];
    for (let at = 0; at < reply.digest.length; at += CONTENT_HASH_BYTES) ids.push(Buffer.from(reply.digest.subarray(at, at + CONTENT_HASH_BYTES)));
    pending?.resolve(chunkListHash(ids, size));
  }

  private check(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  /** The helper died: pending digests fail, and so does every later call (waiters notice within WAIT_MS). */
  private fail(error: Error): void {
    if (this.failure !== undefined) return;
    this.failure = error;
    for (const pending of this.digests.values()) pending.reject(error);
    this.digests.clear();
    this.streams.clear();
    this.chunked.clear();
    this.chunkIds.clear();
    this.worker.unref();
  }
}
