import { ExcludeMatcher } from './exclude-matcher';

const b = (text: string): Buffer => Buffer.from(text, 'utf8');
const excluded = (patterns: string[], path: string, isDir: boolean | null = false): boolean => {
  const bytes = b(path);
  const name = bytes.subarray(bytes.lastIndexOf(0x2f) + 1);
  return new ExcludeMatcher(patterns).excludes(name, bytes, isDir);
};

describe('ExcludeMatcher', () => {
  it('matches a pattern without "/" against the name at any depth', () => {
    expect(excluded(['*.tmp'], '/a.tmp')).toBe(true);
    expect(excluded(['*.tmp'], '/x/y/z/b.tmp')).toBe(true);
    expect(excluded(['*.tmp'], '/x/y/z/b.tmp.keep')).toBe(false);
    expect(excluded(['node_modules'], '/srv/app/node_modules', true)).toBe(true);
    expect(excluded(['node_modules'], '/srv/app/node_modules_old', true)).toBe(false);
  });

  it('anchors a pattern starting with "/" at the filesystem root', () => {
    expect(excluded(['/var/cache'], '/var/cache', true)).toBe(true);
    expect(excluded(['/var/cache'], '/srv/var/cache', true)).toBe(false);
    expect(excluded(['/home/*/.cache'], '/home/ann/.cache', true)).toBe(true);
    expect(excluded(['/home/*/.cache'], '/home/ann/sub/.cache', true)).toBe(false);
  });

  it('lets "**" span directories', () => {
    expect(excluded(['/home/**/cache'], '/home/cache', true)).toBe(true);
    expect(excluded(['/home/**/cache'], '/home/a/b/c/cache', true)).toBe(true);
    expect(excluded(['/home/**/cache'], '/homes/cache', true)).toBe(false);
  });

  it('matches an unanchored pattern with "/" against trailing components', () => {
    expect(excluded(['build/out'], '/src/build/out', true)).toBe(true);
    expect(excluded(['build/out'], '/build/out', true)).toBe(true);
    expect(excluded(['build/out'], '/rebuild/out', true)).toBe(false);
  });

  it('restricts a pattern with a trailing "/" to directories', () => {
    expect(excluded(['cache/'], '/a/cache', true)).toBe(true);
    expect(excluded(['cache/'], '/a/cache', false)).toBe(false);
    expect(excluded(['cache/'], '/a/cache', null)).toBe(false);
  });

  it('matches dot files like other names', () => {
    expect(excluded(['*'], '/a/.hidden')).toBe(true);
    expect(excluded(['.*'], '/a/.hidden')).toBe(true);
  });

  it('works byte for byte on names that are not UTF-8 or hold newlines', () => {
    const name = Buffer.from([0x66, 0xff, 0xfe, 0x2e, 0x74, 0x6d, 0x70]); // "f\xff\xfe.tmp"
    const path = Buffer.concat([b('/d/'), name]);
    expect(new ExcludeMatcher(['*.tmp']).excludes(name, path, false)).toBe(true);
    expect(new ExcludeMatcher(['f*']).excludes(name, path, false)).toBe(true);
    expect(new ExcludeMatcher(['g*']).excludes(name, path, false)).toBe(false);
    expect(excluded(['line*'], '/d/line\nbreak')).toBe(true);
    expect(excluded(['*break'], '/d/line\nbreak')).toBe(true);
  });

  it('matches UTF-8 patterns against the UTF-8 names they spell', () => {
    expect(excluded(['été*'], '/d/été-2024')).toBe(true);
    expect(excluded(['été*'], '/d/ete-2024')).toBe(false);
  });

  it('treats leading dashes as ordinary characters', () => {
    expect(excluded(['-rf'], '/d/-rf')).toBe(true);
    expect(excluded(['--*'], '/d/--verbose')).toBe(true);
  });

  it('refuses empty patterns and NUL bytes with a clear error', () => {
    expect(() => new ExcludeMatcher([''])).toThrow(/exclude pattern "" is empty/);
    expect(() => new ExcludeMatcher(['a\0b'])).toThrow(/NUL/);
  });
});
