/**
 * rsync's weak rolling checksum over a window of L bytes b[0..L):
 *   s1 = sum of b[i]            (kept exact: at most 255 * 2^20 for the largest block)
 *   s2 = sum of (L - i) * b[i]  (modulo 2^32)
 * packed as (s1 & 0xffff) | (s2 << 16), like rsync's get_checksum1 (bytes unsigned, no offset).
 * Rolling one byte: out leaves, in enters: s1 += in - out; s2 += s1 - L * out.
 *
 * The hot paths (block sums, rolling search) run in WebAssembly (weak-kernel-code.ts); this JS version is the
 * reference they are tested against and serves one-off checksums.
 */

/** Packs running sums into the 32-bit weak checksum stored in signatures. */
export function packWeak(s1: number, s2: number): number {
  return ((s1 & 0xffff) | (s2 << 16)) >>> 0;
}

/** Computes the running sums (s1, s2) of `data[start..end)` into `out[0]`, `out[1]`, four bytes per step (int32 only). */
export function weakSums(data: Uint8Array, start: number, end: number, out: Int32Array): void {
  let s1 = 0;
  let s2 = 0;
  let i = start;
  for (const last = end - 4; i <= last; i += 4) {
    const b0 = data[i] as number;
    const b1 = data[i + 1] as number;
    const b2 = data[i + 2] as number;
    const b3 = data[i + 3] as number;
    s2 = (s2 + (s1 << 2) + (b0 << 2) + 3 * b1 + (b2 << 1) + b3) | 0;
    s1 = (s1 + b0 + b1 + b2 + b3) | 0;
  }
  for (; i < end; i++) {
    s1 = (s1 + (data[i] as number)) | 0;
    s2 = (s2 + s1) | 0;
  }
  out[0] = s1;
  out[1] = s2;
}

/** The packed weak checksum of `data[start..end)`. */
export function weakChecksum(data: Uint8Array, start = 0, end = data.length): number {
  const sums = new Int32Array(2);
  weakSums(data, start, end, sums);
  return packWeak(sums[0] as number, sums[1] as number);
}
