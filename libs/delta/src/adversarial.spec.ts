import { randomBytes } from 'node:crypto';
import { delta, FALSE_HIT_BUDGET_FIXED, FALSE_HIT_BUDGET_PER_BYTE } from './delta';
import { MAX_BUCKET_COMPARISONS } from './parameters';
import { patch } from './patch';
import { signature } from './signature';
import { collectBytes, collectTokens } from '../test/round-trip';
import { weakChecksum } from './weak-checksum';

const BLOCK = 700;

/**
 * `count` distinct blocks sharing the weak checksum of a block of constant bytes: adding (+1, -2, +1) at
 * positions j, j+1, j+2 keeps both s1 and s2 (the weights L-j, L-j-1, L-j-2 cancel).
 */
function sameWeakBlocks(count: number, fill: number): Buffer {
  const out = Buffer.alloc(count * BLOCK, fill);
  for (let i = 0; i < count; i++) {
    // Two perturbations in disjoint halves of the block: 340 x 116 distinct blocks.
    const a = i % 340;
    const b = 350 + 3 * (Math.floor(i / 340) % 116);
    for (const j of [a, b]) {
      const base = i * BLOCK + j;
      out[base] = (out[base] as number) + 1;
      out[base + 1] = (out[base + 1] as number) - 2;
      out[base + 2] = (out[base + 2] as number) + 1;
    }
  }
  return out;
}

describe('an adversarial basis', () => {
  it('has thousands of distinct blocks with one weak checksum', () => {
    const basis = sameWeakBlocks(4096, 100);
    const constant = weakChecksum(Buffer.alloc(BLOCK, 100));
    const distinct = new Set<string>();
    for (let i = 0; i < 4096; i++) {
      const block = basis.subarray(i * BLOCK, (i + 1) * BLOCK);
      expect(weakChecksum(block)).toBe(constant);
      distinct.add(block.toString('latin1'));
    }
    expect(distinct.size).toBe(4096);
  });

  it('cannot make the search quadratic: comparisons and hashing stay within the stated bound', async () => {
    const basis = sameWeakBlocks(4096, 100);
    // Every window of the new version has that weak checksum, and none is in the basis.
    const newLength = 1_000_000;
    const newVersion = Buffer.alloc(newLength, 100);
    const stream = delta(await signature(basis, { blockLength: BLOCK }), newVersion);
    const tokens = await collectTokens(stream);
    const { stats } = stream;

    expect((await collectBytes(patch(basis, tokens))).equals(newVersion)).toBe(true);
    expect(stats.literalBytes).toBe(newLength);
    // Per position, at most the cap of comparisons...
    expect(stats.strongComparisons).toBeLessThanOrEqual(MAX_BUCKET_COMPARISONS * (stats.weakHits - stats.skippedHits));
    // ...and over the file, false hits get a budget linear in its length.
    const workPerFalseHit = BLOCK + 32 * MAX_BUCKET_COMPARISONS;
    const budget = FALSE_HIT_BUDGET_PER_BYTE * newLength + FALSE_HIT_BUDGET_FIXED;
    expect(stats.falseHits).toBeLessThanOrEqual(Math.ceil(budget / workPerFalseHit) + 1);
    expect(stats.skippedHits).toBeGreaterThan(0);
    expect(stats.strongHashes).toBeLessThanOrEqual(stats.falseHits + 2);
    // Without the guards: 1,000,000 positions x 4096 comparisons.
    expect(stats.strongComparisons).toBeLessThan(3_000_000);
  }, 20_000);

  it('still matches honest data next to a crowded bucket', async () => {
    const crowded = sameWeakBlocks(2048, 100);
    const honest = randomBytes(BLOCK * 100);
    const basis = Buffer.concat([crowded, honest]);
    const newVersion = Buffer.concat([randomBytes(123), honest, Buffer.alloc(5000, 100)]);
    const stream = delta(await signature(basis, { blockLength: BLOCK }), newVersion);
    const rebuilt = await collectBytes(patch(basis, await collectTokens(stream)));
    expect(rebuilt.equals(newVersion)).toBe(true);
    expect(stream.stats.copiedBytes).toBe(honest.length);
  });

  it('copies runs of identical blocks (a sparse file) without comparing through the bucket', async () => {
    const basis = Buffer.alloc(BLOCK * 5000);
    const newVersion = Buffer.concat([Buffer.from('header'), basis]);
    const stream = delta(await signature(basis, { blockLength: BLOCK }), newVersion);
    const tokens = await collectTokens(stream);
    expect((await collectBytes(patch(basis, tokens))).equals(newVersion)).toBe(true);
    expect(stream.stats.literalBytes).toBe(6);
    // One general lookup finds block 0, then each next block is predicted: a few tokens, no bucket walk.
    expect(stream.stats.strongComparisons).toBeLessThanOrEqual(2);
    expect(tokens.filter((token) => token.kind === 'copy').length).toBeLessThanOrEqual(2);
  });
});
