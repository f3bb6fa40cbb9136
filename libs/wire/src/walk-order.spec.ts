import { compareWalkOrder, furthestPosition } from './walk-order';

const at = (dir: string, name: string): { dir: Buffer; name: Buffer } => ({ dir: Buffer.from(dir), name: Buffer.from(name) });

describe('compareWalkOrder', () => {
  it('orders entries as the agent sends them: post-order directories, names by bytes', () => {
    const sent = [at('/a/b', 'x'), at('/a/b', 'y'), at('/a/c/d', 'z'), at('/a/c', 'a'), at('/a', 'b'), at('/a', 'c'), at('/ab', 'f'), at('/', 'a'), at('/', 'ab')];
    for (let i = 0; i < sent.length; i++) {
      for (let j = 0; j < sent.length; j++) {
        const order = Math.sign(compareWalkOrder(sent[i]!, sent[j]!));
        expect({ i, j, order }).toEqual({ i, j, order: Math.sign(i - j) });
      }
    }
  });

  it('compares names as raw bytes, not as text', () => {
    expect(compareWalkOrder(at('/d', 'Z'), at('/d', 'a'))).toBeLessThan(0);
    expect(compareWalkOrder({ dir: Buffer.from('/d'), name: Buffer.from([0xc3]) }, at('/d', 'z'))).toBeGreaterThan(0);
  });
});

describe('furthestPosition', () => {
  const mark = (dir: string, name: string, offset: bigint | null) => ({ dir: Buffer.from(dir), name: Buffer.from(name), offset });

  it('keeps the later entry in walk order, the larger offset inside one file, a delta over any offset', () => {
    const inChild = mark('/a/b', 'z', 10n);
    const inParent = mark('/a', 'a', 0n);
    expect(furthestPosition(inChild, inParent)).toBe(inParent);
    expect(furthestPosition(inParent, inChild)).toBe(inParent);
    expect(furthestPosition(mark('/a', 'f', 5n), mark('/a', 'f', 7n))?.offset).toBe(7n);
    expect(furthestPosition(mark('/a', 'f', null), mark('/a', 'f', 7n))?.offset).toBeNull();
    expect(furthestPosition(null, inChild)).toBe(inChild);
    expect(furthestPosition(inChild, null)).toBe(inChild);
    expect(furthestPosition(null, null)).toBeNull();
  });
});
