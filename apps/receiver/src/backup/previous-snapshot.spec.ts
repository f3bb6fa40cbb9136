import { decodeTreeIndex, encodeTree, findEntry, RepositoryCorruptError, RepositoryNotFoundError, type ObjectId, type Tree, type TreeEntry, TreeEntryType, type TreeIndex } from '@berth/repository';
import fc from 'fast-check';
import { AscendingLookup, identicalFile, PreviousSnapshot } from './previous-snapshot';

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
    // A stored name is a valid one (no NUL, no '/', not '.' or '..'); a name asked for may be anything.
    const storedName = name.map((bytes) => Buffer.from(bytes.map((byte) => (byte === 0 || byte === 0x2f ? byte + 1 : byte)))).filter((bytes) => !/^\.\.?$/.test(bytes.toString('latin1')));
    fc.assert(
      fc.property(fc.array(storedName, { maxLength: 60 }), fc.array(name, { maxLength: 60 }), fc.boolean(), (stored, asked, ascending) => {
        const tree: Tree = { entries: sortedUnique(stored).map(entry) };
        const queries = ascending ? sortedUnique(asked) : asked;
        const lookup = new AscendingLookup(decodeTreeIndex(encodeTree(tree)));
        for (const query of queries) {
          const found = findEntry(tree, query);
          const at = lookup.indexOf(query);
          expect(at < 0 ? null : tree.entries[at]).toBe(found);
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

describe('PreviousSnapshot', () => {
  const id = (n: number): ObjectId => Buffer.alloc(32, n);
  const dir = (name: string, subtree: ObjectId): TreeEntry => ({ ...entry(Buffer.from(name)), type: TreeEntryType.Dir, mode: 0o40755, subtree });
  /** "/" holds "etc" (tree 2) and "var" (tree 3); tree 2 holds "app" (tree 4). Tree 3 is lost, tree 4 damaged. */
  const trees = new Map<string, Tree>([
    [id(1).toString('hex'), { entries: [dir('etc', id(2)), dir('var', id(3))] }],
    [id(2).toString('hex'), { entries: [dir('app', id(4)), entry(Buffer.from('hosts'))] }],
  ]);
  let reads = 0;
  const reader = {
    readTreeIndex(treeId: ObjectId): Promise<TreeIndex> {
      reads += 1;
      if (treeId.equals(id(4))) return Promise.reject(new RepositoryCorruptError('tree is corrupt', treeId.toString('hex')));
      const tree = trees.get(treeId.toString('hex'));
      return tree === undefined ? Promise.reject(new RepositoryNotFoundError(`object ${treeId.toString('hex')} is not in the repository`)) : Promise.resolve(decodeTreeIndex(encodeTree(tree)));
    },
  };

  it('treats a directory whose tree is lost or damaged as new, and counts and tries each such tree once', async () => {
    const previous = new PreviousSnapshot(reader, id(1));
    expect((await previous.directory(Buffer.from('/etc')))?.tree.entries.map((e) => e.name.toString())).toEqual(['app', 'hosts']);
    expect(await previous.directory(Buffer.from('/nope'))).toBeNull();
    expect(previous.treesLost).toBe(0);
    expect(await previous.directory(Buffer.from('/var'))).toBeNull();
    expect(await previous.directory(Buffer.from('/etc/app'))).toBeNull();
    expect(previous.treesLost).toBe(2);
    // Each tree that failed is tried once: a directory below it, or the same one again, reads nothing more.
    const before = reads;
    expect(await previous.directory(Buffer.from('/etc/app/deeper'))).toBeNull();
    expect(await previous.directory(Buffer.from('/var'))).toBeNull();
    expect(reads).toBe(before);
    expect(previous.treesLost).toBe(2);
  });

  it('lets any other failure through', async () => {
    const previous = new PreviousSnapshot({ readTreeIndex: () => Promise.reject(new Error('EIO: i/o error, read')) }, id(1));
    await expect(previous.directory(Buffer.from('/etc'))).rejects.toThrow('EIO');
  });
});
