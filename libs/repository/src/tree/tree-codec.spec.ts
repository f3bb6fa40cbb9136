import fc from 'fast-check';
import { RepositoryCorruptError, RepositoryInputError } from '../errors';
import { sha256 } from '../ids';
import { type Tree, type TreeEntry, type TreeEntryType } from '../model';
import { dirEntry, fifoEntry, fileEntry, symlinkEntry } from '../../test/support';
import { decodeTree, EncodedEntries, encodedTreeParts, encodeTree, joinEncodedEntries, storedEntry, storedEntryOrigin } from './tree-codec';

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
