import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { applyEdits, basisArbitrary, editArbitrary } from '../test/edits';
import { roundTrip } from '../test/round-trip';

describe('patch(basis, delta(signature(basis), new)) == new', () => {
  it('holds for random bases and random edit scripts, with small blocks so edits cross many of them', async () => {
    await fc.assert(
      fc.asyncProperty(
        basisArbitrary(6000),
        fc.array(editArbitrary, { maxLength: 6 }),
        fc.integer({ min: 1, max: 97 }),
        fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 4 }),
        async (basis, edits, blockLength, newChunks) => {
          const newVersion = applyEdits(basis, edits, blockLength);
          const result = await roundTrip(basis, newVersion, { signature: { blockLength }, newChunks, delta: { maxLiteralBytes: 1 + (blockLength % 5) * 300 } });
          expect(result.rebuilt.equals(newVersion)).toBe(true);
          expect(result.stats.newLength).toBe(newVersion.length);
          expect(result.stats.literalBytes + result.stats.copiedBytes).toBe(newVersion.length);
        },
      ),
      { numRuns: 250 },
    );
  });

  it('holds with the default block length rule on bases around the 700-byte block size', async () => {
    await fc.assert(
      fc.asyncProperty(basisArbitrary(5000), fc.array(editArbitrary, { maxLength: 4 }), async (basis, edits) => {
        const newVersion = applyEdits(basis, edits, 700);
        const result = await roundTrip(basis, newVersion);
        expect(result.rebuilt.equals(newVersion)).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  it('sends no literal byte for an identical file, and one coalesced copy', async () => {
    await fc.assert(
      fc.asyncProperty(basisArbitrary(8000), fc.integer({ min: 1, max: 300 }), async (basis, blockLength) => {
        const result = await roundTrip(basis, basis, { signature: { blockLength } });
        expect(result.rebuilt.equals(Buffer.from(basis))).toBe(true);
        expect(result.stats.literalBytes).toBe(0);
        expect(result.stats.copyTokens).toBe(basis.length === 0 ? 0 : 1);
      }),
      { numRuns: 100 },
    );
  });

  it.each([
    ['empty basis, empty new version', 0, () => Buffer.alloc(0)],
    ['empty basis, new content', 0, () => randomBytes(5000)],
    ['content replaced by an empty file', 5000, () => Buffer.alloc(0)],
    ['shorter than one block', 300, (b: Buffer) => Buffer.concat([b.subarray(0, 100), Buffer.from('x'), b.subarray(100)])],
    ['exactly one block', 700, (b: Buffer) => Buffer.from(b)],
    ['exactly one block, then appended', 700, (b: Buffer) => Buffer.concat([b, Buffer.from('tail')])],
    ['entirely new content', 50_000, () => randomBytes(50_000)],
    ['short last block kept after an append', 10_000 + 123, (b: Buffer) => Buffer.concat([b, randomBytes(999)])],
    ['short last block kept after an edit at the front', 10_000 + 123, (b: Buffer) => Buffer.concat([Buffer.from('head'), b])],
  ])('%s', async (_name, basisLength, makeNew) => {
    const basis = randomBytes(basisLength);
    const newVersion = makeNew(basis);
    const result = await roundTrip(basis, newVersion);
    expect(result.rebuilt.equals(newVersion)).toBe(true);
  });

  it('copies the whole basis around an insertion and keeps the literal to the inserted bytes plus at most a block', async () => {
    const basis = randomBytes(2_000_000);
    const inserted = randomBytes(5000);
    const newVersion = Buffer.concat([basis.subarray(0, 1_000_001), inserted, basis.subarray(1_000_001)]);
    const result = await roundTrip(basis, newVersion);
    expect(result.rebuilt.equals(newVersion)).toBe(true);
    const blockLength = 1408; // rsync's rule for 2 MB
    expect(result.stats.literalBytes).toBeGreaterThanOrEqual(inserted.length);
    // The block the insertion falls in is the only one lost.
    expect(result.stats.literalBytes).toBeLessThanOrEqual(inserted.length + blockLength);
  });

  it('finds moved blocks wherever they land', async () => {
    const basis = randomBytes(700 * 40);
    const blocks = Array.from({ length: 40 }, (_, i) => basis.subarray(i * 700, (i + 1) * 700));
    const shuffled = Buffer.concat([...blocks.slice(20), Buffer.from('glue'), ...blocks.slice(0, 20).reverse()]);
    const result = await roundTrip(basis, shuffled);
    expect(result.rebuilt.equals(shuffled)).toBe(true);
    expect(result.stats.literalBytes).toBe(4);
  });
});
