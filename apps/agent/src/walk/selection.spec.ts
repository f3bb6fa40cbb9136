import { buildSelection, joinPath, pathComponents } from './selection';

const keys = (node: { children: ReadonlyMap<string, unknown> }): string[] => [...node.children.keys()].sort();

describe('selection of configured paths', () => {
  it('holds only the components leading to each path', () => {
    const root = buildSelection(['/home/ann', '/etc', '/home/bob/docs']);
    expect(root.whole).toBe(false);
    expect(keys(root)).toEqual(['etc', 'home']);
    expect(root.children.get('etc')?.whole).toBe(true);
    const home = root.children.get('home')!;
    expect(home.whole).toBe(false);
    expect(keys(home)).toEqual(['ann', 'bob']);
    expect(home.children.get('bob')?.children.get('docs')?.whole).toBe(true);
  });

  it('lets a configured path cover the paths inside it, in either order', () => {
    expect(buildSelection(['/home/ann', '/home']).children.get('home')).toEqual({ whole: true, children: new Map() });
    expect(buildSelection(['/home', '/home/ann']).children.get('home')).toEqual({ whole: true, children: new Map() });
    expect(buildSelection(['/srv', '/']).whole).toBe(true);
  });

  it('normalises paths and refuses relative ones, "..", and NUL', () => {
    expect(pathComponents('/a//b/./c/').map(String)).toEqual(['a', 'b', 'c']);
    expect(() => pathComponents('relative/path')).toThrow(/absolute/);
    expect(() => pathComponents('/a/../../etc')).toThrow(/absolute|\.\./);
    expect(() => pathComponents('/a\0b')).toThrow(/NUL/);
    expect(() => buildSelection([])).toThrow(/no backup paths/);
  });

  it('joins path bytes without doubling the root slash', () => {
    expect(joinPath(Buffer.from('/'), Buffer.from('a')).toString()).toBe('/a');
    expect(joinPath(Buffer.from('/a'), Buffer.from('b'), Buffer.from('c')).toString()).toBe('/a/b/c');
  });
});
