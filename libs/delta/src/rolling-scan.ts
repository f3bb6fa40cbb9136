/** Multiplier of the multiplicative hash that spreads weak checksums over the filter and the table. */
export const WEAK_HASH_MULTIPLIER = 0x9e3779b1;

// Module-level copies: the loop must not read another module's export (a getter in CommonJS output) nor the
// global `Math` per byte; under Jest's vm context either made it a hundred times slower.
const K = WEAK_HASH_MULTIPLIER;
const imul = Math.imul;

/**
 * The hot loop of the search. `sums` holds (s1, s2) of the window at `from`. Checks the windows at
 * from, from + 1, ... end - 1 against the filter (a bitset over hash(weak), see SignatureIndex), rolling the sums
 * one byte after each miss. Returns the first position whose filter bit is set, with `sums` left at that window,
 * or `end` with `sums` at window `end` (not checked). Needs data[p + windowLength] for every p < end.
 *
 * Shaped by measurement in V8 (Node 20): one small function over typed arrays, int32 arithmetic only, a single
 * data array, unrolled four times, leaving on a set bit (1 position in 64 on unrelated data) rather than probing
 * the table inline (which costs registers in the loop and made it 40% slower). No Map, no allocation.
 */
export function scanForCandidate(
  data: Uint8Array,
  from: number,
  end: number,
  windowLength: number,
  sums: Int32Array,
  filter: Int32Array,
  filterShift: number,
): number {
  const L = windowLength;
  let s1 = sums[0] as number;
  let s2 = sums[1] as number;
  let p = from;
  let bit: number;
  let out: number;
  for (const end4 = end - 3; p < end4; p += 4) {
    bit = imul((s1 & 0xffff) | (s2 << 16), K) >>> filterShift;
    if (((filter[bit >>> 5] as number) & (1 << (bit & 31))) !== 0) return leave(sums, s1, s2, p);
    out = data[p] as number;
    s1 = (s1 + (data[p + L] as number) - out) | 0;
    s2 = (s2 + s1 - imul(L, out)) | 0;

    bit = imul((s1 & 0xffff) | (s2 << 16), K) >>> filterShift;
    if (((filter[bit >>> 5] as number) & (1 << (bit & 31))) !== 0) return leave(sums, s1, s2, p + 1);
    out = data[p + 1] as number;
    s1 = (s1 + (data[p + 1 + L] as number) - out) | 0;
    s2 = (s2 + s1 - imul(L, out)) | 0;

    bit = imul((s1 & 0xffff) | (s2 << 16), K) >>> filterShift;
    if (((filter[bit >>> 5] as number) & (1 << (bit & 31))) !== 0) return leave(sums, s1, s2, p + 2);
    out = data[p + 2] as number;
    s1 = (s1 + (data[p + 2 + L] as number) - out) | 0;
    s2 = (s2 + s1 - imul(L, out)) | 0;

    bit = imul((s1 & 0xffff) | (s2 << 16), K) >>> filterShift;
    if (((filter[bit >>> 5] as number) & (1 << (bit & 31))) !== 0) return leave(sums, s1, s2, p + 3);
    out = data[p + 3] as number;
    s1 = (s1 + (data[p + 3 + L] as number) - out) | 0;
    s2 = (s2 + s1 - imul(L, out)) | 0;
  }
  for (; p < end; p++) {
    bit = imul((s1 & 0xffff) | (s2 << 16), K) >>> filterShift;
    if (((filter[bit >>> 5] as number) & (1 << (bit & 31))) !== 0) break;
    out = data[p] as number;
    s1 = (s1 + (data[p + L] as number) - out) | 0;
    s2 = (s2 + s1 - imul(L, out)) | 0;
  }
  return leave(sums, s1, s2, p);
}

function leave(sums: Int32Array, s1: number, s2: number, p: number): number {
  sums[0] = s1;
  sums[1] = s2;
  return p;
}

/** Rolls the window at `p` one byte forward: needs data[p + windowLength]. */
export function rollOne(data: Uint8Array, p: number, windowLength: number, sums: Int32Array): void {
  const out = data[p] as number;
  const s1 = ((sums[0] as number) + (data[p + windowLength] as number) - out) | 0;
  sums[0] = s1;
  sums[1] = ((sums[1] as number) + s1 - imul(windowLength, out)) | 0;
}
