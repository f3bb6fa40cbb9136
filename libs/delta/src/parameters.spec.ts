import { CONTENT_CHUNK_BYTES } from './content-hash';
import { alignedBlockLength, blockCountOf, blockLengthFor, MAX_BLOCK_LENGTH, strongLengthFor } from './parameters';
import { packWeak, weakChecksum, weakSums } from './weak-checksum';
import { rollOne } from './rolling-scan';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';

describe('block length rule', () => {
  it.each([
    [0, 700],
    [489_999, 700],
    [490_000, 700],
    [2_000_000, 1408], // rsync: 1,408-byte blocks for a 2 MB file
    [64 * 2 ** 20, 8192],
    [256 * 2 ** 20, 16384],
    [2 ** 30, 32768],
    [4 * 2 ** 30, 65536],
    [2 ** 40, MAX_BLOCK_LENGTH],
    [2 ** 50, MAX_BLOCK_LENGTH],
  ])('a %d-byte file gets %d-byte blocks', (length, expected) => {
    expect(blockLengthFor(length)).toBe(expected);
  });

  it('is the largest multiple of 8 whose square does not exceed the length, within 700 .. 1 MiB', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 44 }), (length) => {
        let root = Math.floor(Math.sqrt(length));
        while (root * root > length) root--;
        const expected = Math.min(MAX_BLOCK_LENGTH, Math.max(700, root - (root % 8)));
        expect(blockLengthFor(length)).toBe(expected);
      }),
      { numRuns: 2000 },
    );
  });

  it('keeps 8 to 16 bytes of strong hash, growing with the file', () => {
    expect(strongLengthFor(0)).toBe(8);
    expect(strongLengthFor(256 * 2 ** 20)).toBe(9);
    expect(strongLengthFor(2 ** 40 - 1)).toBe(10);
    expect(strongLengthFor(Number.MAX_SAFE_INTEGER)).toBe(12);
    expect(blockCountOf(1401, 700)).toBe(3);
  });
});

describe('weak rolling checksum', () => {
  it('matches the definition s1 = sum b, s2 = sum (L - i) b', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), (data) => {
        let s1 = 0;
        let s2 = 0;
        data.forEach((byte, i) => {
          s1 += byte;
          s2 = (s2 + (data.length - i) * byte) % 2 ** 32;
        });
        expect(weakChecksum(data)).toBe(((s1 & 0xffff) + (s2 & 0xffff) * 0x10000) >>> 0);
      }),
    );
  });

  it('rolls to the checksum computed from scratch at every position', () => {
    const data = randomBytes(5000);
    const window = 333;
    const sums = new Int32Array(2);
    weakSums(data, 0, window, sums);
    for (let p = 0; p + window < data.length; p++) {
      rollOne(data, p, window, sums);
      expect(packWeak(sums[0] as number, sums[1] as number)).toBe(weakChecksum(data, p + 1, p + 1 + window));
    }
  });
});

describe('alignedBlockLength', () => {
  const MiB = CONTENT_CHUNK_BYTES;
  it.each([1, 1000, 490_000, MiB, MiB + 1, 5 * MiB + 3, 64 * MiB, 100_000_000, 3 * 2 ** 40])('is a power of two dividing a chunk, at most the square-root rule, for %d bytes', (length) => {
    const block = alignedBlockLength(length);
    if (length <= MiB) {
      expect(block).toBe(blockLengthFor(length));
      return;
    }
    expect(MiB % block).toBe(0);
    expect(block).toBeLessThanOrEqual(blockLengthFor(length));
    expect(block * 2).toBeGreaterThan(Math.min(blockLengthFor(length), MiB));
  });
});
