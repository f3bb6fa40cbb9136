import { displayPath } from './display-path';

describe('displayPath', () => {
  it('shows UTF-8 paths unchanged', () => {
    expect(displayPath(Buffer.from('/home/zoë/naïve.txt'))).toBe('/home/zoë/naïve.txt');
    expect(displayPath(Buffer.from('/a\\b'))).toBe('/a\\b');
  });

  it('escapes bytes that are not UTF-8 and doubles backslashes then', () => {
    expect(displayPath(Buffer.from([0x2f, 0x61, 0xff, 0x62]))).toBe('/a\\xffb');
    expect(displayPath(Buffer.concat([Buffer.from('/é\\'), Buffer.from([0xc3])]))).toBe('/é\\\\\\xc3');
    // An overlong encoding of "/" is not valid UTF-8.
    expect(displayPath(Buffer.from([0xc0, 0xaf]))).toBe('\\xc0\\xaf');
  });
});
