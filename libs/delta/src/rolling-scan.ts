/** Multiplier of the multiplicative hash that spreads weak checksums over the filter and the table. */
export const WEAK_HASH_MULTIPLIER = 0x9e3779b1;

// A module-level copy: `Math` is a slow global lookup inside Jest's vm context, and this runs per candidate.
const imul = Math.imul;

/** Rolls the window at `p` one byte forward: needs data[p + windowLength]. */
export function rollOne(data: Uint8Array, p: number, windowLength: number, sums: Int32Array): void {
  const out = data[p] as number;
  const s1 = ((sums[0] as number) + (data[p + windowLength] as number) - out) | 0;
  sums[0] = s1;
  sums[1] = ((sums[1] as number) + s1 - imul(windowLength, out)) | 0;
}
