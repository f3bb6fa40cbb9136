import { WireError } from './errors';

const U64_MAX = (1n << 64n) - 1n;
const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;
/**
 * Scratch space to split a 64-bit bigint into its 32-bit halves: nanosecond times (past 2^53, and past 2^60 once
 * zigzagged) are then written without a bigint operation, which allocated a bigint each.
 */
const SCRATCH = new DataView(new ArrayBuffer(8));

/** Growable output buffer for one frame payload. Encoding never validates names: the decoder is the guard. */
export class ByteWriter {
  private buffer: Buffer;
  private length: number;

  constructor(initialBytes = 256, reserve = 0) {
    this.buffer = Buffer.allocUnsafe(Math.max(initialBytes, reserve + 16));
    this.length = reserve;
  }

  get size(): number {
    return this.length;
  }

  private ensure(extra: number): void {
    const needed = this.length + extra;
    if (needed <= this.buffer.length) return;
    let capacity = this.buffer.length * 2;
    while (capacity < needed) capacity *= 2;
    const grown = Buffer.allocUnsafe(capacity);
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }

  u8(value: number): void {
    this.ensure(1);
    this.buffer[this.length++] = value & 0xff;
  }

  bool(value: boolean): void {
    this.u8(value ? 1 : 0);
  }

  /** Unsigned LEB128 of a non-negative safe integer. */
  varint(value: number, field: string): void {
    if (!Number.isSafeInteger(value) || value < 0) throw WireError.protocol(`${field}: ${value} is not a non-negative safe integer`);
    this.ensure(8);
    let rest = value;
    while (rest >= 0x80) {
      this.buffer[this.length++] = (rest % 0x80) | 0x80;
      rest = Math.floor(rest / 0x80);
    }
    this.buffer[this.length++] = rest;
  }

  /** Unsigned LEB128 of a u64 bigint. */
  bigVarint(value: bigint, field: string): void {
    // Most values (sizes, inodes, devices) fit a double exactly, and the number path is far cheaper. One conversion
    // tells, without a bigint comparison: a value up to 2^53 - 1 converts exactly, a larger one to 2^53 or more, a
    // negative one below 0.
    const approx = Number(value);
    if (approx >= 0 && approx <= Number.MAX_SAFE_INTEGER) {
      this.varint(approx, field);
      return;
    }
    if (value < 0n || value > U64_MAX) throw WireError.protocol(`${field}: ${value} is outside u64`);
    SCRATCH.setBigUint64(0, value, true);
    this.u64Halves(SCRATCH.getUint32(0, true), SCRATCH.getUint32(4, true));
  }

  /** bigVarint of the u64 `high * 2^32 + low` (32-bit halves), without a bigint. */
  u64Halves(low: number, high: number): void {
    this.ensure(10);
    let lo = low >>> 0;
    let hi = high >>> 0;
    while (hi !== 0 || lo >= 0x80) {
      this.buffer[this.length++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    this.buffer[this.length++] = lo;
  }

  /** signedBigVarint of the i64 whose two's complement halves are given, without a bigint. */
  i64Halves(low: number, high: number): void {
    const sign = (high | 0) >> 31;
    this.u64Halves((low << 1) ^ sign, ((high << 1) | (low >>> 31)) ^ sign);
  }

  /** Zigzag LEB128 of an i64 bigint (timestamps may precede 1970). */
  signedBigVarint(value: bigint, field: string): void {
    if (value < I64_MIN || value > I64_MAX) throw WireError.protocol(`${field}: ${value} is outside i64`);
    SCRATCH.setBigInt64(0, value, true);
    this.i64Halves(SCRATCH.getUint32(0, true), SCRATCH.getUint32(4, true));
  }

  /** Length-prefixed bytes. */
  bytes(value: Buffer, maxBytes: number, field: string): void {
    this.bytesRange(value, 0, value.length, maxBytes, field);
  }

  /** Length-prefixed bytes: `length` bytes of `source` from `start` (no view of them needed). */
  bytesRange(source: Buffer, start: number, length: number, maxBytes: number, field: string): void {
    if (length > maxBytes) throw WireError.protocol(`${field}: ${length} bytes exceed ${maxBytes}`);
    this.varint(length, field);
    this.ensure(length);
    // A name is mostly a few dozen bytes: a loop beats a call into native copy for those.
    if (length <= 64) {
      const out = this.buffer;
      let at = this.length;
      for (let i = start, end = start + length; i < end; i++) out[at++] = source[i]!;
    } else {
      source.copy(this.buffer, this.length, start, start + length);
    }
    this.length += length;
  }

  /** Exactly `value.length` bytes, no prefix. */
  raw(value: Buffer): void {
    this.ensure(value.length);
    value.copy(this.buffer, this.length);
    this.length += value.length;
  }

  string(value: string, maxBytes: number, field: string): void {
    this.bytes(Buffer.from(value, 'utf8'), maxBytes, field);
  }

  /** The written bytes (a view, valid until the next write). */
  finish(): Buffer {
    return this.buffer.subarray(0, this.length);
  }

  /** Overwrites 4 bytes at `offset` with a u32 big-endian. */
  patchU32(offset: number, value: number): void {
    this.buffer.writeUInt32BE(value, offset);
  }

  patchU8(offset: number, value: number): void {
    this.buffer[offset] = value;
  }
}
