import { compareWalkOrder } from './walk-order';

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
