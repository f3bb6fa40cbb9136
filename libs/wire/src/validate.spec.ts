import { thrownBy } from '../test/thrown';
import { ErrorCode } from './messages';
import { joinPath, parentPath, pathComponents, validateAbsolutePath, validateName, validateRelativePath } from './validate';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

describe('path validation', () => {
  it('accepts ordinary and odd but legal names', () => {
    for (const name of ['a', '-rf', 'with\nnewline', 'tab\there', '...', '.hidden', 'x'.repeat(255)]) expect(() => validateName(b(name))).not.toThrow();
    expect(() => validateName(Buffer.from([0xff, 0x80]))).not.toThrow();
  });

  it.each(['', '.', '..', 'a/b', '/', 'a\0', 'y'.repeat(256)])('rejects the name %j with bad_path', (name) => {
    expect(thrownBy(() => validateName(b(name)))).toMatchObject({ code: ErrorCode.BadPath });
  });

  it('accepts normalized absolute paths only', () => {
    for (const path of ['/', '/a', '/a/b/c', '/.x/..y']) expect(() => validateAbsolutePath(b(path))).not.toThrow();
    for (const path of ['', 'a', '/a/', '//a', '/a/../b', '/./a', '/a\0']) {
      expect(thrownBy(() => validateAbsolutePath(b(path)))).toMatchObject({ code: ErrorCode.BadPath });
    }
    expect(() => validateAbsolutePath(Buffer.concat([b('/'), Buffer.alloc(65 * 1024, 0x61)]))).toThrow(/exceeds/);
  });

  it('accepts normalized relative paths only', () => {
    expect(() => validateRelativePath(b('a/b'))).not.toThrow();
    for (const path of ['', '/a', 'a/', 'a/../../b', '..']) expect(thrownBy(() => validateRelativePath(b(path)))).toMatchObject({ code: ErrorCode.BadPath });
  });

  it('splits, joins and walks up paths', () => {
    expect(pathComponents(b('/'))).toEqual([]);
    expect(pathComponents(b('/a/bc'))).toEqual([b('a'), b('bc')]);
    expect(joinPath(b('/'), b('a'))).toEqual(b('/a'));
    expect(joinPath(b('/a'), b('b'))).toEqual(b('/a/b'));
    expect(parentPath(b('/a/b'))).toEqual(b('/a'));
    expect(parentPath(b('/a'))).toEqual(b('/'));
    expect(parentPath(b('/'))).toBeNull();
  });
});
