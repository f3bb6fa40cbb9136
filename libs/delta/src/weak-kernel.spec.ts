import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { rollOne } from './rolling-scan';
import { WeakKernel } from './weak-kernel';
import { type Signature } from './signature';
import { SignatureIndex } from './signature-index';
import { packWeak, weakChecksum, weakSums } from './weak-checksum';

function signatureOf(weak: number[], blockLength: number): Signature {
  return { blockLength, fileLength: weak.length * blockLength, strongLength: 8, blockCount: weak.length, weak: Uint32Array.from(weak), strong: new Uint8Array(weak.length * 8) };
}

/** The loop the kernel implements, one byte at a time in plain JS. */
function referenceScan(data: Uint8Array, from: number, end: number, window: number, index: SignatureIndex, sums: Int32Array): number {
  for (let p = from; p < end; p++) {
    if (index.firstBlock((sums[0]! & 0xffff) | (sums[1]! << 16)) >= 0) return p;
    rollOne(data, p, window, sums);
  }
  return end;
}

describe('the WebAssembly weak-checksum kernel', () => {
  it('computes the sums of any range like the JS loop', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 5000 }), fc.nat(), fc.nat(), (content, a, b) => {
        const kernel = new WeakKernel(content.length);
        kernel.data.set(content);
        const start = content.length === 0 ? 0 : a % content.length;
        const end = start + (b % (content.length - start + 1));
        const expected = new Int32Array(2);
        weakSums(content, start, end, expected);
        kernel.computeSums(start, end);
        expect(Array.from(kernel.sums)).toEqual(Array.from(expected));
      }),
      { numRuns: 500 },
    );
  });


  it('computes the weak checksum of each block of a range in one call, the last block possibly short', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 5000 }), fc.integer({ min: 1, max: 600 }), fc.nat(), (content, blockLength, a) => {
        const start = content.length === 0 ? 0 : a % content.length;
        const blocks = Math.ceil((content.length - start) / blockLength);
        const out = Math.ceil(content.length / 4) * 4;
        const kernel = new WeakKernel(out + 4 * blocks + 4);
        kernel.data.set(content);
        // A sentinel after the last block's word: nothing is written past it.
        const words = new Uint32Array(kernel.data.buffer, kernel.data.byteOffset + out, blocks + 1);
        words[blocks] = 0xdeadbeef;
        kernel.blockWeaks(start, content.length, blockLength, out);
        const expected = Array.from({ length: blocks }, (_, i) => weakChecksum(content.subarray(start + i * blockLength, Math.min(start + (i + 1) * blockLength, content.length))) >>> 0);
        expect(Array.from(words.subarray(0, blocks))).toEqual(expected);
        expect(words[blocks]).toBe(0xdeadbeef);
      }),
      { numRuns: 300 },
    );
  });

  it('stops where the reference loop stops, with the same sums', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 50, maxLength: 3000 }), fc.integer({ min: 1, max: 40 }), fc.array(fc.nat(), { minLength: 1, maxLength: 30 }), (content, window, picks) => {
        fc.pre(content.length > window + 1);
        // Weak checksums of windows that occur in the data (hits) plus random ones (misses).
        const weak = picks.map((pick, i) => (i % 2 === 0 ? weakChecksum(content, pick % (content.length - window), (pick % (content.length - window)) + window) : pick >>> 0));
        const index = new SignatureIndex(signatureOf(weak, window));
        const kernel = new WeakKernel(content.length, index);
        kernel.data.set(content);
        const expected = new Int32Array(2);
        let from = 0;
        const end = content.length - window;
        weakSums(content, 0, window, expected);
        weakSums(content, 0, window, kernel.sums);
        while (from < end) {
          const want = referenceScan(content, from, end, window, index, expected);
          const got = kernel.scan(from, end, window);
          expect(got).toBe(want);
          expect(Array.from(kernel.sums)).toEqual(Array.from(expected));
          if (got === end) break;
          rollOne(content, got, window, expected);
          rollOne(kernel.data, got, window, kernel.sums);
          from = got + 1;
        }
      }),
      { numRuns: 300 },
    );
  });

  it('scans unrelated data to the end and leaves the sums of the last window', () => {
    const data = randomBytes(1 << 20);
    const window = 4096;
    // Signature checksums that no window of this data has (small values do occur in random data, about one run in
    // a hundred), so the scan has nothing to stop at.
    const present = new Set<number>();
    const sums = new Int32Array(2);
    weakSums(data, 0, window, sums);
    for (let p = 0; p <= data.length - window; p++) {
      present.add(packWeak(sums[0]!, sums[1]!) >>> 0);
      if (p < data.length - window) rollOne(data, p, window, sums);
    }
    const absent: number[] = [];
    for (let weak = 1; absent.length < 4; weak++) if (!present.has(weak)) absent.push(weak);
    const index = new SignatureIndex(signatureOf(absent, window));
    const kernel = new WeakKernel(data.length, index);
    kernel.data.set(data);
    weakSums(kernel.data, 0, window, kernel.sums);
    const end = data.length - window;
    expect(kernel.scan(0, end, window)).toBe(end);
    expect(packWeak(kernel.sums[0]!, kernel.sums[1]!)).toBe(weakChecksum(data, end, end + window));
  });

  it('refuses to be used once its memory is handed back', () => {
    const kernel = new WeakKernel(1024);
    kernel.release();
    expect(() => kernel.computeSums(0, 10)).toThrow(/after release/);
  });
});
