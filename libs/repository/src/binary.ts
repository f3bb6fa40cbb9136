/**
 * Canonical binary encoding helpers: unsigned LEB128 varints, zigzag for signed values, length-prefixed bytes.
 * The reader checks every length against the bytes left before slicing or allocating, and rejects
 * non-minimal varints so each value has exactly one encoding (object ids are hashes of encodings).
 */

const MAX_U64 = (1n << 64n) - 1n;
const MIN_I64 = -(1n << 63n);
const MAX_I64 = (1n << 63n) - 1n;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

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
    this.ensure(10);
    let v = value;
    while (v >= 0x80n) {
      this.buf[this.pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.pos++] = Number(v);
  }

  /** Zigzag varint for a signed 64-bit value. */
  i64(value: bigint): void {
    if (value < MIN_I64 || value > MAX_I64) throw new RangeError(`not a signed 64-bit integer: ${value}`);
    this.u64(value >= 0n ? value << 1n : ((-value) << 1n) - 1n);
  }

  raw(bytes: Uint8Array): void {
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  bytes(bytes: Uint8Array): void {
    this.uint(bytes.length);
    this.raw(bytes);
  }

  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

/** Thrown by ByteReader; callers wrap it into a domain error naming the object. */
export class DecodeError extends Error {}

export class ByteReader {
  private pos = 0;

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
    const start = this.pos;
    // Up to 7 bytes (49 bits) are summed as a number; only longer values take the bigint path.
    let small = 0;
    let scale = 1;
    for (let i = 0; i < 7; i++) {
      const byte = this.u8();
      small += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) {
        if (byte === 0 && i > 0) throw new DecodeError(`non-minimal varint at byte ${start}`);
        return BigInt(small);
      }
      scale *= 0x80;
    }
    let result = BigInt(small);
    let shift = 49n;
    for (;;) {
      const byte = this.u8();
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) {
        if (byte === 0) throw new DecodeError(`non-minimal varint at byte ${start}`);
        break;
      }
      shift += 7n;
      if (shift >= 70n) throw new DecodeError(`varint too long at byte ${start}`);
    }
    if (result > MAX_U64) throw new DecodeError(`varint beyond 64 bits at byte ${start}`);
    return result;
  }

  i64(): bigint {
    const z = this.u64();
    return (z & 1n) === 0n ? z >> 1n : -((z + 1n) >> 1n);
  }

  raw(length: number): Buffer {
    if (length > this.remaining) throw new DecodeError(`length ${length} exceeds the ${this.remaining} bytes left at byte ${this.pos}`);
    const out = this.buf.subarray(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }

  /** Length-prefixed bytes, length at most `max`. Returns a copy so callers never pin the whole record. */
  bytes(what: string, max: number): Buffer {
    const length = this.bounded(`${what} length`, max);
    return Buffer.from(this.raw(length));
  }

  end(): void {
    if (this.remaining !== 0) throw new DecodeError(`${this.remaining} trailing bytes`);
  }
}
