import fc from 'fast-check';
import { ByteReader, ByteWriter, compareRanges, DecodeError } from './binary';

describe('varint encoding', () => {
  it('round-trips unsigned and signed 64-bit values, boundaries included', () => {
    const edges = [0n, 1n, 127n, 128n, (1n << 49n) - 1n, 1n << 49n, BigInt(Number.MAX_SAFE_INTEGER), (1n << 63n) - 1n, (1n << 64n) - 1n];
    fc.assert(
      fc.property(fc.oneof(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.constantFrom(...edges)), fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }), fc.nat(), (u, i, n) => {
        const writer = new ByteWriter(4);
        writer.u64(u);
        writer.i64(i);
        writer.uint(n);
        const reader = new ByteReader(writer.finish());
        expect(reader.u64()).toBe(u);
        expect(reader.i64()).toBe(i);
        expect(reader.uint()).toBe(n);
        reader.end();
      }),
      { numRuns: 3000 },
    );
  });

  it('refuses non-minimal, overlong and out-of-range encodings', () => {
    expect(() => new ByteReader(Buffer.from([0x80, 0x00])).u64()).toThrow(DecodeError);
    expect(() => new ByteReader(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x80, 0x00])).u64()).toThrow(/non-minimal/);
    expect(() => new ByteReader(Buffer.from([...Array<number>(9).fill(0xff), 0x02])).u64()).toThrow(/beyond 64 bits/);
    expect(() => new ByteReader(Buffer.from([...Array<number>(10).fill(0xff), 0x01])).u64()).toThrow(/too long/);
    expect(() => new ByteReader(Buffer.from([...Array<number>(8).fill(0xff), 0x01])).uint()).toThrow(/too large/);
    expect(() => new ByteReader(Buffer.from([0x80])).u64()).toThrow(/unexpected end/);
    expect(() => new ByteReader(Buffer.from([5, 1, 2])).bytes('name', 255)).toThrow(/exceeds the 2 bytes left/);
    expect(() => new ByteReader(Buffer.from([0x80, 0x02])).bounded('count', 100)).toThrow(/count 256 exceeds 100/);
  });
});

describe('varint encoding of 64-bit values through 32-bit halves', () => {
  /** The straightforward bigint arithmetic the halves must agree with, byte for byte. */
  function referenceVarint(value: bigint): number[] {
    const out: number[] = [];
    let v = value;
    while (v >= 0x80n) {
      out.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    out.push(Number(v));
    return out;
  }
  const zigzag = (v: bigint): bigint => (v >= 0n ? v << 1n : (-v << 1n) - 1n);
  const edges = [0n, 1n, -1n, (1n << 31n) - 1n, -(1n << 31n), 1n << 32n, -(1n << 32n), (1n << 48n) + 1n, -(1n << 48n) - 1n, (1n << 53n) - 1n, -(1n << 53n), 1n << 62n, (1n << 63n) - 1n, -(1n << 63n)];

  it('writes exactly the canonical bytes and reads them back, for every magnitude', () => {
    fc.assert(
      fc.property(fc.oneof(fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }), fc.constantFrom(...edges)), fc.integer({ min: 0, max: 63 }), (signed, bits) => {
        const unsigned = BigInt.asUintN(64, signed) >> BigInt(bits);
        const writer = new ByteWriter(1);
        writer.u64(unsigned);
        writer.i64(signed);
        const bytes = writer.finish();
        expect([...bytes]).toEqual([...referenceVarint(unsigned), ...referenceVarint(zigzag(signed))]);
        const reader = new ByteReader(bytes);
        expect(reader.u64()).toBe(unsigned);
        expect(reader.i64()).toBe(signed);
        reader.end();
      }),
      { numRuns: 5000 },
    );
  });

  it('reads nanosecond timestamps of either sign (the long form of a tree entry)', () => {
    for (const ns of [1_764_129_000_123_456_789n, -1_764_129_000_123_456_789n, 9_223_372_036_854_775_807n]) {
      const writer = new ByteWriter();
      writer.i64(ns);
      expect(new ByteReader(writer.finish()).i64()).toBe(ns);
    }
  });
});

describe('compareRanges', () => {
  it('orders two ranges as Buffer.compare orders them, short (compared here) or long (natively)', () => {
    // Few distinct bytes, so ranges often share long prefixes or are equal.
    const bytes = fc.uint8Array({ maxLength: 150 }).map((array) => Buffer.from(array.map((byte) => byte % 3)));
    fc.assert(
      fc.property(bytes, bytes, fc.nat(8), fc.nat(8), (a, b, aSkip, bSkip) => {
        const [aStart, bStart] = [Math.min(aSkip, a.length), Math.min(bSkip, b.length)];
        const expected = Buffer.compare(a.subarray(aStart), b.subarray(bStart));
        expect(compareRanges(a, aStart, a.length, b, bStart, b.length)).toBe(expected);
        expect(compareRanges(b, bStart, b.length, a, aStart, a.length)).toBe(expected === 0 ? 0 : -expected);
      }),
      { numRuns: 3000 },
    );
  });
});
