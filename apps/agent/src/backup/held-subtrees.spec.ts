import { MetaEntryList } from '../walk/entry-list';
import { type DirectoryListing } from '../walk/tree-walker';
import { HeldSubtrees, isInside, subtreeFiles, type SubtreeProbe } from './held-subtrees';

function listing(path: string, files: number, bytes: number, entries = files): DirectoryListing {
  return {
    path: Buffer.from(path),
    list: new MetaEntryList([]),
    digest: Buffer.alloc(32, path.length),
    regularFiles: () => ({ files, bytes }),
    lastName: () => null,
    entryCount: entries,
  };
}

const shape = (probe: SubtreeProbe): unknown => [probe.listing.path.toString(), ...probe.children.map(shape)];

describe('isInside', () => {
  it('says whether a path lies strictly inside a directory, by whole components', () => {
    expect(isInside(Buffer.from('/a/b'), Buffer.from('/a'))).toBe(true);
    expect(isInside(Buffer.from('/a'), Buffer.from('/'))).toBe(true);
    expect(isInside(Buffer.from('/'), Buffer.from('/'))).toBe(false);
    expect(isInside(Buffer.from('/a'), Buffer.from('/a'))).toBe(false);
    expect(isInside(Buffer.from('/ab'), Buffer.from('/a'))).toBe(false);
    expect(isInside(Buffer.from('/a/b'), Buffer.from('/b'))).toBe(false);
  });
});

describe('HeldSubtrees', () => {
  it('makes the held directories inside a directory its children, as a post-order walk yields them', () => {
    const held = new HeldSubtrees();
    for (const path of ['/a/x', '/a/y/z', '/a/y', '/a', '/b']) held.add(listing(path, 1, 1), Buffer.alloc(32));
    expect(held.size).toBe(2);
    expect(held.heldEntries).toBe(5);
    held.add(listing('/', 0, 0), Buffer.alloc(32));
    const roots = held.take();
    expect(roots.map(shape)).toEqual([['/', ['/a', ['/a/x'], ['/a/y', ['/a/y/z']]], ['/b']]]);
    expect(held.size).toBe(0);
    expect(held.heldEntries).toBe(0);
  });

  it('keeps a directory whose siblings were taken earlier on its own', () => {
    const held = new HeldSubtrees();
    held.add(listing('/a/x', 1, 1), Buffer.alloc(32));
    held.take();
    held.add(listing('/a/y', 1, 1), Buffer.alloc(32));
    held.add(listing('/a', 1, 1), Buffer.alloc(32));
    expect(held.take().map(shape)).toEqual([['/a', ['/a/y']]]);
  });

  it('counts the files and bytes of a whole held subtree', () => {
    const held = new HeldSubtrees();
    held.add(listing('/a/b', 2, 20), Buffer.alloc(32));
    held.add(listing('/a/c', 3, 30), Buffer.alloc(32));
    held.add(listing('/a', 1, 5), Buffer.alloc(32));
    const [root] = held.take();
    expect(subtreeFiles(root!)).toEqual({ files: 6, bytes: 55 });
  });
});
