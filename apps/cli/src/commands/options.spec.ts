import { InvalidArgumentError } from 'commander';
import { wholeNumber } from './options';

describe('wholeNumber', () => {
  it('takes whole numbers within its bounds and refuses everything else, saying which bounds', () => {
    const days = wholeNumber(1, 3650, 'days');
    expect(days('1')).toBe(1);
    expect(days('3650')).toBe(3650);
    for (const bad of ['0', '3651', '-1', '1.5', '', ' 2', '1e3', 'ten']) {
      expect(() => days(bad)).toThrow(new InvalidArgumentError('must be a whole number of days from 1 to 3650'));
    }
    expect(() => wholeNumber(1, 500)('501')).toThrow('must be a whole number from 1 to 500');
  });
});
