/**
 * Canonical binary encoding helpers: unsigned LEB128 varints, zigzag for signed values, length-prefixed bytes.
 * The reader checks every length against the bytes left before slicing or allocating, and rejects
 * non-minimal varints so each value has exactly one encoding (object ids are hashes of encodings).
 */

const MAX_U64 = (1n << 64n) - 1n;
const MIN_I64 = -(1n << 63n);
const MAX_I64 = (1n << 63n) - 1n;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const TWO_32 = 0x1_0000_0000;
/** Largest high 32-bit half for which `hi * 2^32 + lo` is still a safe integer. */
const MAX_SAFE_HIGH_WORD = 0x1f_ffff;

/**
 * Scratch space for converting between a 64-bit bigint and two 32-bit halves: one bigint created (or read) per
 * value instead of a bigint operation per 7 bits. A tree holds two timestamps per entry, each past 2^60 once
 * zigzagged, which made bigint arithmetic most of encoding and decoding a large directory.
 */
const SCRATCH = new DataView(new ArrayBuffer(8));

export class ByteWriter {
  private buf: Buffer;
  private pos = 0;

  constructor(initialBytes = 256) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  private ensure(extra: number): void {
    if (this.pos + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + extra) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  u8(value: number): void {
    this.ensure(1);
    this.buf[this.pos++] = value;
  }

  /** Unsigned varint for a safe integer. */
  uint(value: number): void {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`not an unsigned safe integer: ${value}`);
    this.ensure(8);
    let v = value;
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.pos++] = v;
  }

  /** Unsigned varint for a 64-bit value. */
  u64(value: bigint): void {
    if (value < 0n || value > MAX_U64) throw new RangeError(`not an unsigned 64-bit integer: ${value}`);
    // Most values (sizes, inode numbers) fit a safe integer: number arithmetic is several times faster.
    if (value <= MAX_SAFE) {
      this.uint(Number(value));
      return;
    }
    SCRATCH.setBigUint64(0, value, true);
    this.words(SCRATCH.getUint32(0, true), SCRATCH.getUint32(4, true));
  }

  /** Zigzag varint for a signed 64-bit value. */
  i64(value: bigint): void {
    if (value < MIN_I64 || value > MAX_I64) throw new RangeError(`not a signed 64-bit integer: ${value}`);
    // Zigzag on the two's-complement halves: (v << 1) ^ (v >> 63).
    SCRATCH.setBigInt64(0, value, true);
    const lo = SCRATCH.getUint32(0, true);
    const hi = SCRATCH.getUint32(4, true);
    const sign = hi >> 31;
    this.words(((lo << 1) ^ sign) >>> 0, (((hi << 1) | (lo >>> 31)) ^ sign) >>> 0);
  }

  /** Unsigned varint of the 64-bit value `hi * 2^32 + lo` (both halves unsigned 32-bit). */
  private words(lo: number, hi: number): void {
    if (hi <= MAX_SAFE_HIGH_WORD) {
      this.uint(hi * TWO_32 + lo);
      return;
    }
    this.ensure(10);
    let low = lo;
    let high = hi;
    while (high !== 0 || low >= 0x80) {
      this.buf[this.pos++] = (low & 0x7f) | 0x80;
      low = ((low >>> 7) | ((high & 0x7f) << 25)) >>> 0;
      high >>>= 7;
    }
    this.buf[this.pos++] = low;
  }

  raw(bytes: Uint8Array): void {
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  /** The bytes of `source` from `start` to `end`, without a view of them. */
  rawRange(source: Buffer, start: number, end: number): void {
    this.ensure(end - start);
    this.pos += source.copy(this.buf, this.pos, start, end);
  }

  bytes(bytes: Uint8Array): void {
    this.uint(bytes.length);
    this.raw(bytes);
  }

  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  /** Forgets what was written, keeping the memory (a scratch writer reused for each value). */
  reset(): void {
    this.pos = 0;
  }

  /** Whether the bytes written so far equal `source`'s from `start` on, compared in place (no view). */
  matches(source: Buffer, start: number): boolean {
    return start + this.pos <= source.length && compareRanges(this.buf, 0, this.pos, source, start, start + this.pos) === 0;
  }
}

/** Ranges up to this long are compared byte by byte here: Buffer.compare with offsets costs about 1 µs a call. */
const SHORT_COMPARE_BYTES = 64;

/**
 * Compares `a[aStart..aEnd)` with `b[bStart..bEnd)` as Buffer.compare does (byte order, a prefix first): negative,
 * zero or positive. Short ranges (names, an entry's metadata) are compared in a loop, longer ones natively.
 */
export function compareRanges(a: Uint8Array, aStart: number, aEnd: number, b: Uint8Array, bStart: number, bEnd: number): number {
  const aLength = aEnd - aStart;
  const bLength = bEnd - bStart;
  if (aLength > SHORT_COMPARE_BYTES && bLength > SHORT_COMPARE_BYTES) return Buffer.compare(a.subarray(aStart, aEnd), b.subarray(bStart, bEnd));
  const common = Math.min(aLength, bLength);
  for (let i = 0; i < common; i++) {
    const difference = (a[aStart + i] as number) - (b[bStart + i] as number);
    if (difference !== 0) return difference < 0 ? -1 : 1;
  }
  return aLength === bLength ? 0 : aLength < bLength ? -1 : 1;
}

/** Thrown by ByteReader; callers wrap it into a domain error naming the object. */
export class DecodeError extends Error {}

export class ByteReader {
  private pos = 0;
  /** Halves of the last value `varint64` returned as -1. */
  private lowWord = 0;
  private highWord = 0;

  constructor(private readonly buf: Buffer) {}

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  get offset(): number {
    return this.pos;
  }

  u8(): number {
    const value = this.buf[this.pos];
    if (value === undefined) throw new DecodeError(`unexpected end at byte ${this.pos}`);
    this.pos++;
    return value;
  }

  uint(): number {
    const start = this.pos;
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      const byte = this.u8();
      result += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) {
        if (byte === 0 && i > 0) throw new DecodeError(`non-minimal varint at byte ${start}`);
        if (result > Number.MAX_SAFE_INTEGER) throw new DecodeError(`integer too large at byte ${start}`);
        return result;
      }
      scale *= 0x80;
    }
    throw new DecodeError(`integer too large at byte ${start}`);
  }

  /** An unsigned varint that must also be at most `max` (a count or a length). */
  bounded(what: string, max: number): number {
    const value = this.uint();
    if (value > max) throw new DecodeError(`${what} ${value} exceeds ${max} at byte ${this.pos}`);
    return value;
  }

  u64(): bigint {
    const small = this.varint64();
    if (small >= 0) return BigInt(small);
    SCRATCH.setUint32(0, this.lowWord, true);
    SCRATCH.setUint32(4, this.highWord, true);
    return SCRATCH.getBigUint64(0, true);
  }

  /**
   * u64, returning `same` itself when the value is `sameValue`: no new bigint for a field most entries repeat (a
   * device number, a zero), which for a large tree is much of what decoding allocates and the collector copies.
   */
  u64Or(same: bigint, sameValue: number): bigint {
    const small = this.varint64();
    if (small >= 0) return small === sameValue ? same : BigInt(small);
    SCRATCH.setUint32(0, this.lowWord, true);
    SCRATCH.setUint32(4, this.highWord, true);
    return SCRATCH.getBigUint64(0, true);
  }

  /** Steps over a u64 or i64 varint, checked as u64() and i64() check it, without making its bigint. */
  skip64(): void {
    this.varint64();
  }

  /** Steps over `length` bytes. */
  skip(length: number): void {
    if (length > this.remaining) throw new DecodeError(`length ${length} exceeds the ${this.remaining} bytes left at byte ${this.pos}`);
    this.pos += length;
  }

  /** Moves to `offset` (within the bytes), to read again what an earlier pass stepped over. */
  seek(offset: number): void {
    if (offset > this.buf.length) throw new DecodeError(`offset ${offset} is beyond the ${this.buf.length} bytes`);
    this.pos = offset;
  }

  i64(): bigint {
    const z = this.varint64();
    if (z >= 0) return BigInt(z % 2 === 0 ? z / 2 : -(z + 1) / 2);
    // Zigzag decoding on the halves: (z >>> 1) ^ -(z & 1).
    const lo = this.lowWord;
    const hi = this.highWord;
    const sign = -(lo & 1);
    SCRATCH.setUint32(0, (((lo >>> 1) | (hi << 31)) ^ sign) >>> 0, true);
    SCRATCH.setUint32(4, ((hi >>> 1) ^ sign) >>> 0, true);
    return SCRATCH.getBigInt64(0, true);
  }

  /**
   * An unsigned 64-bit varint: up to 7 bytes (49 bits) are returned as a number; a longer value returns -1 and
   * leaves its unsigned 32-bit halves in `lowWord` / `highWord`, so no bigint arithmetic is needed.
   */
  private varint64(): number {
    const start = this.pos;
    let small = 0;
    let scale = 1;
    for (let i = 0; i < 7; i++) {
      const byte = this.u8();
      small += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) {
        if (byte === 0 && i > 0) throw new DecodeError(`non-minimal varint at byte ${start}`);
        return small;
      }
      scale *= 0x80;
    }
    // Bits 49 and up, summed as a number (at most 21 bits before the range check).
    let high = 0;
    let highScale = 1;
    let shift = 49;
    for (;;) {
      const byte = this.u8();
      high += (byte & 0x7f) * highScale;
      if ((byte & 0x80) === 0) {
        if (byte === 0) throw new DecodeError(`non-minimal varint at byte ${start}`);
        break;
      }
      highScale *= 0x80;
      shift += 7;
      if (shift >= 70) throw new DecodeError(`varint too long at byte ${start}`);
    }
    if (high >= 1 << 15) throw new DecodeError(`varint beyond 64 bits at byte ${start}`);
    this.lowWord = small >>> 0;
    this.highWord = Math.floor(small / TWO_32) + high * (1 << 17);
    return -1;
  }

  raw(length: number): Buffer {
    const start = this.pos;
    this.skip(length);
    return this.buf.subarray(start, this.pos);
  }

  /** Length-prefixed bytes, length at most `max`. Returns a copy so callers never pin the whole record. */
  bytes(what: string, max: number): Buffer {
    const length = this.bounded(`${what} length`, max);
    return Buffer.from(this.raw(length));
  }

  /** Length-prefixed bytes, length at most `max`, as a view of the buffer read (see `bytes` for a copy). */
  view(what: string, max: number): Buffer {
    return this.raw(this.bounded(`${what} length`, max));
  }

  end(): void {
    if (this.remaining !== 0) throw new DecodeError(`${this.remaining} trailing bytes`);
  }
}
