import { WEAK_HASH_MULTIPLIER } from './rolling-scan';
import { type Signature } from './signature';

// Module-level copies: `Math` and imported bindings are slow lookups inside Jest's vm context, and this runs per candidate.
const imul = Math.imul;
const K = WEAK_HASH_MULTIPLIER;


/**
 * Lookup structure over a signature's full-length blocks, built by the side that holds the new version.
 *
 * - `filter`: a bitset of 2^filterBits bits indexed by the top bits of hash(weak). The rolling loop tests one
 *   bit per byte position and leaves the loop only on a set bit (about 1 in 32 positions on unrelated data).
 * - an open-addressing table (linear probing, load at most 1/2) from weak checksum to the first block of a
 *   chain; `next` links the blocks sharing that weak checksum in ascending order.
 *
 * The short last block (when the length is not a multiple of the block length) is left out: a full window
 * never matches it. The search finds it by prediction or at the very end of the new version.
 */
export class SignatureIndex {
  readonly filter: Int32Array;
  /** Right shift that turns hash(weak) into a filter bit index. */
  readonly filterShift: number;
  /** Right shift that turns hash(weak) into a table slot. */
  readonly tableShift: number;
  readonly tableMask: number;
  /** Weak checksum held by each slot (meaningful where slotHead is not -1). */
  readonly slotWeak: Int32Array;
  /** First block of the slot's chain, -1 for an empty slot. */
  readonly slotHead: Int32Array;
  private readonly next: Int32Array;
  /** Number of full-length blocks (the indexed ones). */
  readonly fullBlocks: number;

  constructor(readonly signature: Signature) {
    const { blockCount, blockLength, fileLength, weak } = signature;
    this.fullBlocks = fileLength % blockLength === 0 ? blockCount : blockCount - 1;
    const log2Blocks = Math.ceil(Math.log2(Math.max(2, this.fullBlocks)));
    // 64 to 128 filter bits per block (1.5% false positives or fewer), between 4 KiB and 1 MiB of bitset.
    const filterBits = Math.min(23, Math.max(15, log2Blocks + 6));
    this.filter = new Int32Array(2 ** (filterBits - 5));
    this.filterShift = 32 - filterBits;
    const tableBits = Math.max(4, log2Blocks + 1);
    this.tableShift = 32 - tableBits;
    this.tableMask = 2 ** tableBits - 1;
    this.slotWeak = new Int32Array(2 ** tableBits);
    this.slotHead = new Int32Array(2 ** tableBits).fill(-1);
    this.next = new Int32Array(this.fullBlocks);
    // Inserting from the last block down leaves every chain in ascending block order.
    for (let block = this.fullBlocks - 1; block >= 0; block--) {
      const value = (weak[block] as number) | 0;
      const hash = imul(value, K);
      const bit = hash >>> this.filterShift;
      this.filter[bit >>> 5] = (this.filter[bit >>> 5] as number) | (1 << (bit & 31));
      const slot = this.findSlot(value, hash);
      this.slotWeak[slot] = value;
      this.next[block] = this.slotHead[slot] as number;
      this.slotHead[slot] = block;
    }
  }

  /** First block whose weak checksum is `weak` (as a signed 32-bit value), or -1. */
  firstBlock(weak: number): number {
    return this.slotHead[this.findSlot(weak, imul(weak, K))] as number;
  }

  /** Next block with the same weak checksum, or -1. */
  nextBlock(block: number): number {
    return this.next[block] as number;
  }

  private findSlot(weak: number, hash: number): number {
    let slot = hash >>> this.tableShift;
    while (this.slotHead[slot] !== -1 && this.slotWeak[slot] !== weak) slot = (slot + 1) & this.tableMask;
    return slot;
  }
}
