import { SeededRandom } from './random';

describe('SeededRandom', () => {
  it('gives the same sequence for the same seed and another for another seed', () => {
    const a = new SeededRandom(7);
    const b = new SeededRandom(7);
    const c = new SeededRandom(8);
    const seqA = Array.from({ length: 5 }, () => a.nextUint32());
    expect(Array.from({ length: 5 }, () => b.nextUint32())).toEqual(seqA);
    expect(Array.from({ length: 5 }, () => c.nextUint32())).not.toEqual(seqA);
  });

  it('fills buffers of any length deterministically, and stays in range', () => {
    expect(new SeededRandom(1).bytes(13).equals(new SeededRandom(1).bytes(13))).toBe(true);
    expect(new SeededRandom(1).bytes(13)).toHaveLength(13);
    const r = new SeededRandom(3);
    for (let i = 0; i < 1000; i++) {
      const n = r.int(5, 9);
      expect(n).toBeGreaterThanOrEqual(5);
      expect(n).toBeLessThanOrEqual(9);
    }
    expect(new Set(new SeededRandom(4).sample([1, 2, 3, 4, 5, 6], 4)).size).toBe(4);
  });
});
