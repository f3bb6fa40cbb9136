import { WireError } from './errors';

const MAX_SAFE_VARINT_BYTES = 8; // 56 bits hold every safe integer (53 bits)
const MAX_U64_VARINT_BYTES = 10;
const U64_MAX = (1n << 64n) - 1n;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Bounds-checked reader over one frame payload. Every failure is a WireError naming the field. */
export class ByteReader {
  private offset = 0;

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
    let result = 0n;
    let shift = 0n;
    for (let i = 0; ; i++) {
      if (i === MAX_U64_VARINT_BYTES) throw WireError.protocol(`${field}: varint longer than ${MAX_U64_VARINT_BYTES} bytes`);
      const byte = this.u8(field);
      result |= BigInt(byte & 0x7f) << shift;
      shift += 7n;
      if ((byte & 0x80) === 0) {
        if (byte === 0 && i > 0) throw WireError.protocol(`${field}: overlong varint`);
        break;
      }
    }
    if (result > U64_MAX) throw WireError.protocol(`${field}: exceeds u64`);
    return result;
  }

  signedBigVarint(field: string): bigint {
    const zigzag = this.bigVarint(field);
    return (zigzag & 1n) === 0n ? zigzag >> 1n : -((zigzag + 1n) >> 1n);
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
