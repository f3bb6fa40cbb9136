import fc from 'fast-check';
import { RepositoryCorruptError, RepositoryInputError } from '../errors';
import { sha256 } from '../ids';
import { type Tree, type TreeEntry, TreeEntryType } from '../model';
import { dirEntry, fifoEntry, fileEntry, symlinkEntry } from '../../test/support';
import { decodeTree, decodeTreeIndex, EncodedEntries, encodedTreeParts, encodeTree, type EntryMetadata, joinEncodedEntries, storedEntry, storedEntryOrigin } from './tree-codec';

const id = (n: number): Buffer => sha256(Buffer.from([n]));
const content = { sha256: id(1), chunks: [id(1)] };

function sample(): Tree {
  return {
    entries: [
      fileEntry('-leading-dash', content, 10n),
      dirEntry('dir', id(2)),
      fifoEntry('fifo'),
      symlinkEntry('link', '../target'),
      fileEntry(Buffer.from([0x6e, 0x0a, 0x09, 0xff, 0xfe]), { sha256: id(3), chunks: [] }, 0n),
    ],
  };
}

describe('tree encoding', () => {
  it('round-trips every field, raw-byte names and negative times included', () => {
    const entry: TreeEntry = { ...fileEntry(Buffer.alloc(255, 0x61), content, 1n << 40n), mtimeNs: -1_000_000_001n, ctimeNs: (1n << 63n) - 1n, ino: (1n << 64n) - 1n, mode: 0o107777 };
    const tree = { entries: [...sample().entries, entry].sort((a, b) => Buffer.compare(a.name, b.name)) };
    expect(decodeTree(encodeTree(tree))).toEqual(tree);
  });

  it('is canonical: equal trees encode to equal bytes, and any change changes them', () => {
    const once = encodeTree(sample());
    expect(encodeTree(decodeTree(once)).equals(once)).toBe(true);
    const changed = sample().entries.map((e, i) => (i === 2 ? { ...e, mtimeNs: e.mtimeNs + 1n } : e));
    expect(encodeTree({ entries: changed }).equals(once)).toBe(false);
  });

  it.each([
    ['empty', Buffer.alloc(0), 'is empty'],
    ['too long', Buffer.alloc(256, 0x61), 'more than 255'],
    ['slash', Buffer.from('a/b'), "contains '/'"],
    ['NUL', Buffer.from('a\0b'), 'NUL'],
    ['dot', Buffer.from('.'), "'.' or '..'"],
    ['dot-dot', Buffer.from('..'), "'.' or '..'"],
  ])('rejects a %s name', (_label, name, message) => {
    expect(() => encodeTree({ entries: [fifoEntry(name)] })).toThrow(RepositoryInputError);
    expect(() => encodeTree({ entries: [fifoEntry(name)] })).toThrow(message);
  });

  it('accepts names that only look special', () => {
    const tree = { entries: ['...', '..x', '.hidden'].map((n) => fifoEntry(n)) };
    expect(decodeTree(encodeTree(tree)).entries.map((e) => e.name.toString())).toEqual(['...', '..x', '.hidden']);
  });

  it('rejects unsorted and duplicate entries', () => {
    expect(() => encodeTree({ entries: [fifoEntry('b'), fifoEntry('a')] })).toThrow(/not sorted/);
    expect(() => encodeTree({ entries: [fifoEntry('a'), fifoEntry('a')] })).toThrow(/duplicate name/);
    // Byte order, not locale order: 'B' (0x42) sorts before 'a' (0x61).
    expect(() => encodeTree({ entries: [fifoEntry('a'), fifoEntry('B')] })).toThrow(/not sorted/);
  });

  it('joins runs of encoded entries into exactly the encoding of the whole tree, wherever they are cut', () => {
    const { entries } = sample();
    const whole = encodeTree({ entries });
    for (let a = 0; a <= entries.length; a++) {
      for (let b = a; b <= entries.length; b++) {
        const runs = [entries.slice(0, a), entries.slice(a, b), entries.slice(b)].map((run) => EncodedEntries.encode(run));
        expect(joinEncodedEntries(runs).equals(whole)).toBe(true);
        const { buffers, length } = encodedTreeParts(runs);
        expect(Buffer.concat(buffers).equals(whole)).toBe(true);
        expect(length).toBe(whole.length);
      }
    }
    expect(decodeTree(joinEncodedEntries([]))).toEqual({ entries: [] });
  });

  it('refuses runs joined out of order or repeating a name, and validates each run as encodeTree does', () => {
    const [a, b] = [EncodedEntries.encode([fifoEntry('a')]), EncodedEntries.encode([fifoEntry('b')])];
    const empty = EncodedEntries.encode([]);
    expect(() => joinEncodedEntries([b, empty, a])).toThrow(/"a": not sorted: comes after "b"/);
    expect(() => joinEncodedEntries([a, empty, a])).toThrow(/duplicate name/);
    expect(() => EncodedEntries.encode([fifoEntry('b'), fifoEntry('a')])).toThrow(RepositoryInputError);
    expect(() => EncodedEntries.encode([{ ...fifoEntry('f'), uid: -1 }])).toThrow(/uid -1/);
  });

  it('carries entries of a decoded tree into new trees as their stored bytes, still checking their order', () => {
    const origin = {};
    const whole = encodeTree(sample());
    const decoded = decodeTree(whole, 'w', origin);
    const carried = decoded.entries.map((_, i) => storedEntry(decoded, i));
    expect(carried).toEqual(sample().entries);
    expect(carried.map(storedEntryOrigin)).toEqual(carried.map(() => origin));
    expect(joinEncodedEntries([EncodedEntries.encode(carried)]).equals(whole)).toBe(true);
    // Mixed with entries built anew, in any cut.
    const mixed = carried.map((entry, i) => (i % 2 === 0 ? entry : { ...entry }));
    expect(joinEncodedEntries([EncodedEntries.encode(mixed.slice(0, 3)), EncodedEntries.encode(mixed.slice(3))]).equals(whole)).toBe(true);
    expect(mixed.map(storedEntryOrigin).filter((o) => o !== null)).toHaveLength(3);
    expect(() => EncodedEntries.encode([carried[1] as TreeEntry, carried[0] as TreeEntry])).toThrow(/"-leading-dash": not sorted/);
    expect(() => EncodedEntries.encode([carried[1] as TreeEntry, carried[1] as TreeEntry])).toThrow(/duplicate name/);
  });

  it('carries an entry of a tree it did not decode as the entry itself', () => {
    const tree = sample();
    expect(storedEntry(tree, 1)).toBe(tree.entries[1]);
    expect(storedEntryOrigin(storedEntry(tree, 1))).toBeNull();
    expect(storedEntryOrigin(decodeTree(encodeTree(tree)).entries[1] as TreeEntry)).toBeNull();
    expect(() => storedEntry(tree, 9)).toThrow(RepositoryInputError);
  });

  it('decodes an entry repeating the previous device, a zero rdev or a one-chunk id into the same values', () => {
    const entries = [fileEntry('a', content, 1n), { ...fileEntry('b', { sha256: id(5), chunks: [id(6)] }, 1n), dev: 7n }, { ...fifoEntry('c'), dev: 7n, rdev: 3n }];
    const decoded = decodeTree(encodeTree({ entries }));
    expect(decoded).toEqual({ entries });
    const [a, b, c] = decoded.entries as [TreeEntry, TreeEntry, TreeEntry];
    expect(a.content?.chunks[0]).toBe(a.content?.sha256);
    expect(b.content?.chunks[0]).not.toBe(b.content?.sha256);
    expect([c.dev, c.rdev]).toEqual([7n, 3n]);
  });

  it('decodes into memory of its own: later changes to the bytes read do not reach the tree', () => {
    const encoded = encodeTree(sample());
    const tree = decodeTree(encoded);
    encoded.fill(0x7a);
    expect(tree).toEqual(sample());
  });

  it('keeps bytes given away instead of copying them, unless they are a view of a much larger buffer', () => {
    const encoded = encodeTree(sample());
    const given = Buffer.allocUnsafeSlow(encoded.length);
    encoded.copy(given);
    const kept = decodeTree(given, null, null, true);
    expect(kept).toEqual(sample());
    expect((kept.entries[0] as TreeEntry).name.buffer).toBe(given.buffer);
    const large = Buffer.alloc(encoded.length * 4 + 16_384);
    encoded.copy(large, 100);
    const view = large.subarray(100, 100 + encoded.length);
    const copied = decodeTree(view, null, null, true);
    expect(copied).toEqual(sample());
    expect((copied.entries[0] as TreeEntry).name.buffer).not.toBe(large.buffer);
  });

  it('rejects entries whose fields do not fit their type', () => {
    expect(() => encodeTree({ entries: [{ ...fifoEntry('f'), content }] })).toThrow(/content set on a non-file/);
    expect(() => encodeTree({ entries: [{ ...dirEntry('d', id(1)), subtree: null }] })).toThrow(/directory without subtree/);
    expect(() => encodeTree({ entries: [{ ...symlinkEntry('l', 'x'), linkTarget: Buffer.alloc(0) }] })).toThrow(/linkTarget must be/);
    expect(() => encodeTree({ entries: [{ ...fifoEntry('f'), uid: -1 }] })).toThrow(/uid -1/);
    expect(() => encodeTree({ entries: [{ ...fifoEntry('f'), size: 1n << 64n }] })).toThrow(/size/);
    expect(() => encodeTree({ entries: [{ ...fifoEntry('f'), type: 9 as TreeEntryType }] })).toThrow(/unknown type 9/);
    expect(() => encodeTree({ entries: [{ ...fileEntry('f', { sha256: id(1), chunks: [Buffer.alloc(31)] }, 1n) }] })).toThrow(/chunk id/);
  });

  it('reports a truncated or altered encoding as corrupt, naming the object', () => {
    const encoded = encodeTree(sample());
    for (const cut of [0, 1, 5, encoded.length - 1]) {
      expect(() => decodeTree(encoded.subarray(0, cut), 'abc')).toThrow(RepositoryCorruptError);
    }
    expect(() => decodeTree(Buffer.concat([encoded, Buffer.from([0])]), 'abc')).toThrow(/tree abc is corrupt: 1 trailing bytes/);
    const badVersion = Buffer.from(encoded);
    badVersion[0] = 7;
    expect(() => decodeTree(badVersion)).toThrow(/unknown tree format version 7/);
  });

  it('never trusts a count or length beyond the record', () => {
    // version 1, entry count 2^40: refused before anything is allocated for it.
    const hugeCount = Buffer.from([1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20]);
    expect(() => decodeTree(hugeCount, 'x')).toThrow(/entry count .* exceeds/);
    // one entry whose name claims 200 bytes with 13 present.
    const longName = Buffer.from([1, 1, 200, ...Buffer.alloc(13, 0x61)]);
    expect(() => decodeTree(longName, 'x')).toThrow(RepositoryCorruptError);
    // non-minimal varint for the count (0x81 0x00 == 1).
    expect(() => decodeTree(Buffer.from([1, 0x81, 0x00]), 'x')).toThrow(/non-minimal varint/);
  });

  it('decoding arbitrary bytes either yields a tree that re-encodes identically or raises a corrupt error', () => {
    const encoded = encodeTree(sample());
    fc.assert(
      fc.property(fc.nat(encoded.length - 1), fc.integer({ min: 0, max: 255 }), (at, byte) => {
        const mutated = Buffer.from(encoded);
        mutated[at] = byte;
        try {
          const tree = decodeTree(mutated, 'm');
          expect(encodeTree(tree).equals(mutated)).toBe(true);
        } catch (error) {
          expect(error).toBeInstanceOf(RepositoryCorruptError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('stored entries that encoding would refuse', () => {
  // Two fifos, "p" and "q": the second one's name byte is at the first entry's length plus 3 (version, count, length).
  const first = fifoEntry('p');
  const secondName = encodeTree({ entries: [first] }).length + 1;
  const encoded = (): Buffer => encodeTree({ entries: [first, fifoEntry('q')] });

  it.each([
    ['a NUL byte', 0x00, /entry 1 "\\x00": name contains a NUL byte/],
    ['a slash', 0x2f, /entry 1 "\/": name contains '\/'/],
    ['a dot', 0x2e, /entry 1 "\.": name is '\.' or '\.\.'/],
    ['a repeated name', 0x70, /entry 1 "p": duplicate name/],
    ['a name out of order', 0x61, /entry 1 "a": not sorted: comes after "p"/],
  ])('refuses %s in a stored name, naming the entry, decoded whole or as an index', (_what, byte, message) => {
    const bytes = encoded();
    expect(bytes[secondName]).toBe(0x71);
    bytes[secondName] = byte;
    expect(() => decodeTree(bytes, 't')).toThrow(message);
    expect(() => decodeTreeIndex(bytes, 't')).toThrow(RepositoryCorruptError);
    expect(() => decodeTreeIndex(bytes, 't')).toThrow(message);
  });

  it('refuses an unknown type and an empty or NUL-holding link target', () => {
    const bytes = encoded();
    bytes[secondName + 1] = 9;
    expect(() => decodeTreeIndex(bytes, 't')).toThrow(/entry 1 "q": unknown type 9/);
    const link = encodeTree({ entries: [symlinkEntry('l', 'ab')] });
    const nul = Buffer.from(link);
    nul[link.length - 1] = 0;
    expect(() => decodeTreeIndex(nul, 't')).toThrow(/entry 0 "l": linkTarget contains a NUL byte/);
    // The same symlink with a target of no bytes: its length byte 0, its two bytes gone.
    const empty = Buffer.concat([link.subarray(0, link.length - 3), Buffer.from([0])]);
    expect(() => decodeTreeIndex(empty, 't')).toThrow(/entry 0 "l": linkTarget must be 1\.\.4095 bytes/);
  });
});

describe('TreeIndex', () => {
  const metadataOf = ({ type, mode, uid, gid, mtimeNs, ctimeNs, ino, dev, size, nlink, rdev }: TreeEntry): EntryMetadata => ({ type, mode, uid, gid, mtimeNs, ctimeNs, ino, dev, size, nlink, rdev });

  it('decodes the same entries as decodeTree, one at a time or all, and the same objects either way', () => {
    const encoded = encodeTree(sample());
    const index = decodeTreeIndex(encoded);
    expect(index.length).toBe(5);
    const third = index.entry(2);
    expect(third).toEqual(sample().entries[2]);
    expect(index.entry(2)).toBe(third);
    expect(index.tree).toEqual(decodeTree(encoded));
    expect(index.tree.entries[2]).toBe(third);
    expect(index.entry(4)).toBe(index.tree.entries[4]);
    expect(() => index.entry(5)).toThrow(RepositoryInputError);
    expect(() => index.entry(-1)).toThrow(RepositoryInputError);
  });

  it('finds entries by name as a binary search over the decoded names does', () => {
    const name = fc.uint8Array({ minLength: 1, maxLength: 4 }).map((bytes) => Buffer.from(bytes.map((byte) => (byte === 0 || byte === 0x2f ? 0x41 : byte))));
    fc.assert(
      fc.property(fc.uniqueArray(name, { maxLength: 40, selector: (n) => n.toString('latin1') }), fc.array(name, { maxLength: 20 }), (names, asked) => {
        const valid = names.filter((n) => !/^\.\.?$/.test(n.toString('latin1'))).sort(Buffer.compare);
        const index = decodeTreeIndex(encodeTree({ entries: valid.map(fifoEntry) }));
        for (const query of [...asked, ...valid]) {
          const lower = valid.findIndex((n) => Buffer.compare(n, query) >= 0);
          expect(index.lowerBound(query)).toBe(lower < 0 ? valid.length : lower);
          expect(index.indexOf(query)).toBe(valid.findIndex((n) => n.equals(query)));
        }
        valid.forEach((n, i) => expect(Math.sign(index.compareName(i, Buffer.from('m')))).toBe(Math.sign(Buffer.compare(n, Buffer.from('m')))));
      }),
      { numRuns: 300 },
    );
  });

  it('tells an entry with exactly the metadata given from one that differs in any single field', () => {
    const entries = sample().entries;
    const index = decodeTreeIndex(encodeTree({ entries }));
    entries.forEach((entry, i) => expect(index.sameMetadata(i, metadataOf(entry))).toBe(true));
    const file = metadataOf(entries[0] as TreeEntry);
    const changes: Partial<EntryMetadata>[] = [
      { type: TreeEntryType.Fifo },
      { mode: file.mode + 1 },
      { uid: file.uid + 1 },
      { gid: file.gid + 1 },
      { mtimeNs: file.mtimeNs + 1n },
      { mtimeNs: -file.mtimeNs },
      { ctimeNs: file.ctimeNs - 1n },
      { ino: file.ino + 1n },
      { dev: file.dev + (1n << 40n) },
      { size: file.size + 1n },
      { nlink: 2 },
      { rdev: 1n },
    ];
    for (const change of changes) expect(index.sameMetadata(0, { ...file, ...change })).toBe(false);
    // The fifo's metadata is not the file's, nor the other way round.
    expect(index.sameMetadata(0, metadataOf(entries[2] as TreeEntry))).toBe(false);
    expect(index.sameMetadata(2, file)).toBe(false);
    // Values no entry could hold are never the same, and are not an error.
    for (const change of [{ uid: -1 }, { size: 1n << 64n }, { mtimeNs: 1n << 63n }, { type: 9 as TreeEntryType }, { mode: 0.5 }]) {
      expect(index.sameMetadata(0, { ...file, ...change })).toBe(false);
    }
  });

  it('compares metadata at 64-bit extremes and near the varint boundaries exactly', () => {
    const values = [0n, 1n, 127n, 128n, (1n << 49n) - 1n, 1n << 49n, (1n << 53n) + 1n, (1n << 63n) - 1n, (1n << 64n) - 1n];
    const entries = values.map((v, i) => ({ ...fifoEntry(`f${String(i).padStart(2, '0')}`), ino: v, size: v, mtimeNs: v >= 1n << 63n ? -(1n << 63n) : -v, ctimeNs: v >= 1n << 63n ? (1n << 63n) - 1n : v }));
    const index = decodeTreeIndex(encodeTree({ entries }));
    entries.forEach((entry, i) => {
      expect(index.sameMetadata(i, metadataOf(entry))).toBe(true);
      const other = entries[(i + 1) % entries.length] as TreeEntry;
      expect(index.sameMetadata(i, { ...metadataOf(entry), ino: other.ino })).toBe(false);
      expect(index.sameMetadata(i, { ...metadataOf(entry), mtimeNs: other.mtimeNs })).toBe(false);
    });
  });

  it('carries an entry into a new tree as its stored bytes, its fields read from them only when asked for', () => {
    const origin = {};
    const whole = encodeTree(sample());
    const index = decodeTreeIndex(whole, 'w', origin);
    const carried = sample().entries.map((_, i) => index.storedEntry(i));
    expect(joinEncodedEntries([EncodedEntries.encode(carried)]).equals(whole)).toBe(true);
    expect(carried.map(storedEntryOrigin)).toEqual(carried.map(() => origin));
    expect(carried.map((entry) => entry.name)).toEqual(sample().entries.map((entry) => entry.name));
    const fields = (entry: TreeEntry): TreeEntry => ({ ...metadataOf(entry), name: entry.name, linkTarget: entry.linkTarget, subtree: entry.subtree, content: entry.content });
    expect(carried.map(fields)).toEqual(sample().entries);
    expect((carried[0] as TreeEntry).content).toBe(index.entry(0).content);
    expect(() => EncodedEntries.encode([carried[1] as TreeEntry, carried[0] as TreeEntry])).toThrow(/"-leading-dash": not sorted/);
    expect(() => index.storedEntry(5)).toThrow(RepositoryInputError);
    // The name the caller found it by stands for the stored one; any other name is refused.
    const name = Buffer.from('dir');
    expect(index.storedEntry(1, name).name).toBe(name);
    expect(() => index.storedEntry(1, Buffer.from('fifo'))).toThrow(/tree entry 1 is not named "fifo"/);
  });

  it('copies runs of carried entries whole, and only entries that follow each other in the same stored tree', () => {
    const entries = sample().entries;
    const whole = encodeTree({ entries });
    const [one, two] = [decodeTreeIndex(whole), decodeTreeIndex(whole)];
    const encodingOf = (list: readonly TreeEntry[]): Buffer => EncodedEntries.encode(list).bytes;
    const expected = (indexes: number[]): Buffer => encodingOf(indexes.map((i) => entries[i] as TreeEntry));
    // Entries 0, 2 and 3 carried (a gap after 0), 4 built anew.
    const gap = [one.storedEntry(0), one.storedEntry(2), one.storedEntry(3), { ...(entries[4] as TreeEntry) }];
    expect(encodingOf(gap).equals(expected([0, 2, 3, 4]))).toBe(true);
    // Neighbours from two decodes of the same bytes, and a run broken by an entry built anew.
    const mixed = [two.storedEntry(0), one.storedEntry(1), { ...(entries[2] as TreeEntry) }, one.storedEntry(3), one.storedEntry(4)];
    expect(encodingOf(mixed).equals(expected([0, 1, 2, 3, 4]))).toBe(true);
    // Neighbours from two different trees: the second's entry 1 is its own, not the first tree's.
    const otherDir = { ...(entries[1] as TreeEntry), subtree: id(9) };
    const other = decodeTreeIndex(encodeTree({ entries: entries.map((entry, i) => (i === 1 ? otherDir : entry)) }));
    expect(encodingOf([one.storedEntry(0), other.storedEntry(1)]).equals(encodingOf([entries[0] as TreeEntry, otherDir]))).toBe(true);
    // A run is still checked against what comes before it, and what follows it against its last entry.
    expect(() => encodingOf([one.storedEntry(3), one.storedEntry(0), one.storedEntry(1)])).toThrow(/"-leading-dash": not sorted/);
    expect(() => encodingOf([one.storedEntry(0), one.storedEntry(1), one.storedEntry(2), two.storedEntry(1)])).toThrow(/"dir": not sorted: comes after "fifo"/);
  });
});
