import { randomBytes } from 'node:crypto';
import { DeltaError } from './errors';
import { signature, withStrongLength } from './signature';

describe('withStrongLength', () => {
  it('equals the signature computed with the shorter strong length', async () => {
    const basis = randomBytes(100_003);
    const whole = await signature(basis, { blockLength: 1000, strongLength: 16 });
    for (const length of [4, 9, 15]) {
      expect(withStrongLength(whole, length)).toEqual(await signature(basis, { blockLength: 1000, strongLength: length }));
    }
    expect(withStrongLength(whole, 16)).toBe(whole);
  });

  it('refuses to lengthen hashes or to cut them out of range', async () => {
    const sig = await signature(randomBytes(5000), { blockLength: 700, strongLength: 8 });
    expect(() => withStrongLength(sig, 12)).toThrow(DeltaError);
    expect(() => withStrongLength(sig, 3)).toThrow(/strong hash length/);
  });
});
