import { findEntry, type Tree, type TreeEntry, TreeEntryType } from '@berth/repository';
import fc from 'fast-check';
import { AscendingLookup, identicalFile } from './previous-snapshot';

function entry(name: Buffer): TreeEntry {
  return {
    name,
    type: TreeEntryType.Fifo,
    mode: 0o10644,
    uid: 0,
    gid: 0,
    mtimeNs: 0n,
    ctimeNs: 0n,
    ino: 1n,
    dev: 1n,
    size: 0n,
    nlink: 1,
    rdev: 0n,
    linkTarget: null,
    subtree: null,
    content: null,
  };
}

const sortedUnique = (names: Buffer[]): Buffer[] =>
  names.sort(Buffer.compare).filter((name, i, all) => i === 0 || !name.equals(all[i - 1] as Buffer));

describe('AscendingLookup', () => {
  it('finds what a binary search finds, for names in ascending order and for names that go back', () => {
    const name = fc.uint8Array({ minLength: 1, maxLength: 3 }).map((bytes) => Buffer.from(bytes));
    fc.assert(
      fc.property(fc.array(name, { maxLength: 60 }), fc.array(name, { maxLength: 60 }), fc.boolean(), (stored, asked, ascending) => {
        const tree: Tree = { entries: sortedUnique(stored).map(entry) };
        const queries = ascending ? sortedUnique(asked) : asked;
        const lookup = new AscendingLookup(tree);
        for (const query of queries) {
          const found = findEntry(tree, query);
          const at = lookup.indexOf(query);
          expect(at < 0 ? null : tree.entries[at]).toBe(found);
          expect(lookup.find(query)).toBe(found);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('identicalFile', () => {
  it('holds only when mode, owner, device, link count and rdev are all equal too', () => {
    const previous = entry(Buffer.from('f'));
    expect(identicalFile(previous, { ...previous })).toBe(true);
    for (const change of [{ mode: 0o10600 }, { uid: 1 }, { gid: 1 }, { dev: 2n }, { nlink: 2 }, { rdev: 1n }]) {
      expect(identicalFile(previous, { ...previous, ...change })).toBe(false);
    }
  });
});
