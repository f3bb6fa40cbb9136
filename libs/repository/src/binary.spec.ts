import fc from 'fast-check';
import { ByteReader, ByteWriter, DecodeError } from './binary';

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
