import { WireError } from './errors';

const MAX_SAFE_VARINT_BYTES = 8; // 56 bits hold every safe integer (53 bits)
const MAX_U64_VARINT_BYTES = 10;
const TWO_32 = 2 ** 32;
const SCRATCH = new DataView(new ArrayBuffer(8));
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Bounds-checked reader over one frame payload. Every failure is a WireError naming the field. */
export class ByteReader {
  private offset = 0;
  private lowWord = 0;
  private highWord = 0;

  constructor(private readonly buffer: Buffer) {}

  get remaining(): number {
    return this.buffer.length - this.offset;
  }

  private need(bytes: number, field: string): void {
    if (bytes > this.remaining) throw WireError.protocol(`truncated payload: ${field} needs ${bytes} bytes, ${this.remaining} left`);
  }

  u8(field: string): number {
    this.need(1, field);
    return this.buffer[this.offset++] as number;
  }

  bool(field: string): boolean {
    const value = this.u8(field);
    if (value > 1) throw WireError.protocol(`${field}: boolean byte ${value}`);
    return value === 1;
  }

  varint(field: string, max = Number.MAX_SAFE_INTEGER): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; ; i++) {
      if (i === MAX_SAFE_VARINT_BYTES) throw WireError.protocol(`${field}: varint longer than ${MAX_SAFE_VARINT_BYTES} bytes`);
      const byte = this.u8(field);
      result += (byte & 0x7f) * scale;
      scale *= 0x80;
      if ((byte & 0x80) === 0) {
        if (byte === 0 && i > 0) throw WireError.protocol(`${field}: overlong varint`);
        break;
      }
    }
    if (result > max) throw WireError.protocol(`${field}: ${result} exceeds ${max}`);
    return result;
  }

  bigVarint(field: string): bigint {
    const small = this.varint64(field);
    if (small >= 0) return BigInt(small);
    SCRATCH.setUint32(0, this.lowWord, true);
    SCRATCH.setUint32(4, this.highWord, true);
    return SCRATCH.getBigUint64(0, true);
  }

  signedBigVarint(field: string): bigint {
    const z = this.varint64(field);
    if (z >= 0) return BigInt(z % 2 === 0 ? z / 2 : -(z + 1) / 2);
    // Zigzag decoding on the 32-bit halves: (z >>> 1) ^ -(z & 1).
    const lo = this.lowWord;
    const hi = this.highWord;
    const sign = -(lo & 1);
    SCRATCH.setUint32(0, (((lo >>> 1) | (hi << 31)) ^ sign) >>> 0, true);
    SCRATCH.setUint32(4, ((hi >>> 1) ^ sign) >>> 0, true);
    return SCRATCH.getBigInt64(0, true);
  }

  /**
   * A u64 LEB128 varint without bigint arithmetic (a timestamp in nanoseconds takes 9 bytes; bigint shifts per
   * byte made it the costliest field of an entry): up to 7 bytes (49 bits) come back as a number; a longer value
   * returns -1 and leaves its unsigned 32-bit halves in `lowWord` / `highWord`.
   */
  private varint64(field: string): number {
    let small = 0;
    let scale = 1;
    for (let i = 0; i < 7; i++) {
      const byte = this.u8(field);
      small += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) {
        if (byte === 0 && i > 0) throw WireError.protocol(`${field}: overlong varint`);
        return small;
      }
      scale *= 0x80;
    }
    // Bits 49 and up, summed as a number (at most 21 bits, checked against the 15 a u64 has left).
    let high = 0;
    let highScale = 1;
    for (let i = 7; ; i++) {
      if (i === MAX_U64_VARINT_BYTES) throw WireError.protocol(`${field}: varint longer than ${MAX_U64_VARINT_BYTES} bytes`);
      const byte = this.u8(field);
      high += (byte & 0x7f) * highScale;
      if ((byte & 0x80) === 0) {
        if (byte === 0) throw WireError.protocol(`${field}: overlong varint`);
        break;
      }
      highScale *= 0x80;
    }
    if (high >= 1 << 15) throw WireError.protocol(`${field}: exceeds u64`);
    this.lowWord = small >>> 0;
    this.highWord = Math.floor(small / TWO_32) + high * (1 << 17);
    return -1;
  }

  /** Length-prefixed bytes, copied out of the frame (small fields that outlive the frame). */
  bytes(maxBytes: number, field: string): Buffer {
    return Buffer.from(this.bytesView(maxBytes, field));
  }

  /** Length-prefixed bytes as a view into the frame (bulk data). */
  bytesView(maxBytes: number, field: string): Buffer {
    const length = this.varint(field);
    if (length > maxBytes) throw WireError.protocol(`${field}: ${length} bytes exceed ${maxBytes}`);
    return this.raw(length, field);
  }

  raw(length: number, field: string): Buffer {
    this.need(length, field);
    const view = this.buffer.subarray(this.offset, this.offset + length);
    this.offset += length;
    return view;
  }

  string(maxBytes: number, field: string): string {
    const view = this.bytesView(maxBytes, field);
    try {
      return utf8.decode(view);
    } catch {
      throw WireError.protocol(`${field}: invalid UTF-8`);
    }
  }

  /** A count of items that each take at least `minItemBytes`: rejects counts the payload cannot hold. */
  count(minItemBytes: number, field: string): number {
    const value = this.varint(field);
    if (value * minItemBytes > this.remaining) {
      throw WireError.protocol(`${field}: count ${value} exceeds what the remaining ${this.remaining} bytes can hold`);
    }
    return value;
  }

  /** The payload must be consumed exactly. */
  end(what: string): void {
    if (this.remaining !== 0) throw WireError.protocol(`${what}: ${this.remaining} unexpected trailing bytes`);
  }
}
