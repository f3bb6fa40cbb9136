import { type SignatureIndex } from './signature-index';
import { weakKernelModule } from './weak-kernel-code';
import { webAssembly } from './wasm-module';

type SumsFunction = (start: number, end: number) => number;
type BlockWeaksFunction = (start: number, end: number, L: number, out: number) => number;
type ScanFunction = (p: number, end: number, L: number, filterShift: number, tableShift: number, tableMask: number, filter: number, slotWeak: number, slotHead: number) => number;

const WASM_PAGE = 65536;
const STATE_BYTES = 64;
const align = (value: number): number => (value + 63) & ~63;

/** A kernel instance and its memory, reusable by the next signature or search once released. */
interface KernelMemory {
  readonly buffer: ArrayBuffer;
  readonly sums: SumsFunction;
  readonly scan: ScanFunction;
  readonly blockWeaks: BlockWeaksFunction;
}

/**
 * Released memories kept for reuse: creating a WebAssembly.Memory and collecting it later cost about 75 us, more
 * than the whole delta of a small file, and a large one is fresh memory whose pages fault in again on every
 * call (10-30 ms for a signature's 8 MiB here, a third of a 64 MiB signature). A few, none larger than a
 * signature's (two 4 MiB halves, plus its sums: one page more), so the pool never holds more than 36 MiB.
 */
const pool: KernelMemory[] = [];
const POOL_ENTRIES = 4;
const POOL_MAX_BYTES = 8 * 1024 * 1024 + WASM_PAGE;

function acquireMemory(bytes: number): KernelMemory {
  const index = pool.findIndex((entry) => entry.buffer.byteLength >= bytes);
  if (index >= 0) return pool.splice(index, 1)[0] as KernelMemory;
  const pages = Math.ceil(bytes / WASM_PAGE);
  const memory = new webAssembly.Memory({ initial: pages, maximum: pages });
  const { exports } = new webAssembly.Instance(weakKernelModule, { env: { memory } });
  return { buffer: memory.buffer, sums: exports['sums'] as SumsFunction, scan: exports['scan'] as ScanFunction, blockWeaks: exports['blockWeaks'] as BlockWeaksFunction };
}

/**
 * One signature's or one search's weak-checksum kernel (see weak-kernel-code.ts): its own memory holding the
 * running sums, a copy of the signature's filter and table when searching, and the buffer the caller reads file
 * data into, so the kernel works on it in place.
 */
export class WeakKernel {
  /** Buffer for file data: `capacity` bytes inside the kernel's memory. */
  readonly data: Uint8Array;
  /** s1, s2 of the current window (shared with the kernel). */
  readonly sums: Int32Array;
  private memory: KernelMemory | undefined;
  private readonly filterAt: number;
  private readonly slotWeakAt: number;
  private readonly slotHeadAt: number;
  private readonly dataAt: number;

  constructor(
    capacity: number,
    private readonly index?: SignatureIndex,
  ) {
    this.filterAt = STATE_BYTES;
    this.slotWeakAt = align(this.filterAt + (index?.filter.byteLength ?? 0));
    this.slotHeadAt = align(this.slotWeakAt + (index?.slotWeak.byteLength ?? 0));
    this.dataAt = align(this.slotHeadAt + (index?.slotHead.byteLength ?? 0));
    const memory = acquireMemory(this.dataAt + capacity);
    this.memory = memory;
    const bytes = new Uint8Array(memory.buffer);
    if (index !== undefined) {
      for (const [array, at] of [
        [index.filter, this.filterAt],
        [index.slotWeak, this.slotWeakAt],
        [index.slotHead, this.slotHeadAt],
      ] as const) {
        bytes.set(new Uint8Array(array.buffer, array.byteOffset, array.byteLength), at);
      }
    }
    this.sums = new Int32Array(memory.buffer, 0, 2);
    this.data = new Uint8Array(memory.buffer, this.dataAt, capacity);
  }

  /** Sets `sums` to s1, s2 of data[start..end). */
  computeSums(start: number, end: number): void {
    this.live().sums(this.dataAt + start, this.dataAt + end);
  }

  /**
   * Packed weak checksum of each block of `blockLength` bytes (the last one possibly shorter) of data[start..end),
   * written to data as 32-bit words from byte `out` on (a multiple of 4, clear of the blocks' bytes).
   */
  blockWeaks(start: number, end: number, blockLength: number, out: number): void {
    const at = this.dataAt;
    this.live().blockWeaks(at + start, at + end, blockLength, at + out);
  }

  /**
   * Scans the windows from..end-1 of `data` (sums at window `from`): returns the first whose weak checksum is in
   * the signature, sums at that window, or `end` with sums rolled to window `end`. Needs data[p + L] for p < end.
   */
  scan(from: number, end: number, windowLength: number): number {
    const index = this.index;
    if (index === undefined) throw new Error('this kernel was built without a signature index');
    const at = this.dataAt;
    return this.live().scan(at + from, at + end, windowLength, index.filterShift, index.tableShift, index.tableMask, this.filterAt, this.slotWeakAt, this.slotHeadAt) - at;
  }

  /** Hands the memory back for reuse: `data` and `sums` must not be touched afterwards. */
  release(): void {
    const memory = this.memory;
    this.memory = undefined;
    if (memory !== undefined && pool.length < POOL_ENTRIES && memory.buffer.byteLength <= POOL_MAX_BYTES) pool.push(memory);
  }

  /**
   * Gives the memory up without pooling it: for a kernel whose buffer a read still in flight may write into
   * (the garbage collector frees it once that read is done).
   */
  discard(): void {
    this.memory = undefined;
  }

  private live(): KernelMemory {
    if (this.memory === undefined) throw new Error('weak kernel used after release');
    return this.memory;
  }
}
