import { deflateRawSync } from 'node:zlib';
import fc from 'fast-check';
import { sortedEntriesArb } from '../test/arbitraries';
import { columnsOf } from '../test/columns';
import { thrownBy } from '../test/thrown';
import { ByteReader } from './byte-reader';
import { ByteWriter } from './byte-writer';
import { decodeFrameBody, encodeMessage } from './codec';
import { writeEntry } from './entry-codec';
import { WireError } from './errors';
import { EntryType, ErrorCode, MessageType, type EntryMeta } from './messages';
import { packEntries, packEntryColumns, unpackEntries } from './packed-entries';

/** A directory like the benchmark's: names sharing a prefix, close inodes and times, one owner. */
function smallFiles(count: number): EntryMeta[] {
  return Array.from({ length: count }, (_, i) => ({
    name: Buffer.from(`file-${String(i).padStart(6, '0')}.dat`),
    type: EntryType.File,
    mode: 0o644,
    uid: 1000,
    gid: 1000,
    mtimeNs: 1_764_000_000_000_000_000n + BigInt(i) * 37_123n,
    ctimeNs: 1_764_000_000_000_000_000n + BigInt(i) * 37_123n + 1_000n,
    ino: 5_000_000n + BigInt(i),
    dev: 2049n,
    size: BigInt(512 + ((i * 7919) % 7680)),
    nlink: 1,
    linkTarget: null,
    rdev: 0n,
  }));
}

function plainBytes(entries: readonly EntryMeta[]): number {
  const w = new ByteWriter();
  for (const entry of entries) writeEntry(w, entry);
  return w.size;
}

function wireError(fn: () => unknown): WireError {
  const error = thrownBy(fn);
  expect(error).toBeInstanceOf(WireError);
  return error as WireError;
}

describe('packEntries / unpackEntries', () => {
  it('round-trips any sorted entries, extreme values included', () => {
    fc.assert(
      fc.property(sortedEntriesArb, (entries) => {
        expect(unpackEntries(packEntries(entries), entries.length)).toEqual(entries);
      }),
      { numRuns: 1000 },
    );
  });

  it('packs a directory of similar small files to under a fifth of the plain encoding', () => {
    const entries = smallFiles(1024);
    const packed = packEntries(entries);
    expect(packed.length * 5).toBeLessThan(plainBytes(entries));
    expect(unpackEntries(packed, entries.length)).toEqual(entries);
  });

  it('rejects every truncation of a packed list', () => {
    const packed = packEntries(smallFiles(20));
    for (let length = 0; length < packed.length; length++) {
      expect(() => unpackEntries(packed.subarray(0, length), 20)).toThrow(WireError);
    }
  });

  it('rejects a count the data does not hold, and trailing entries', () => {
    const packed = packEntries(smallFiles(5));
    expect(wireError(() => unpackEntries(packed, 6)).code).toBe(ErrorCode.Protocol);
    expect(wireError(() => unpackEntries(packed, 4)).message).toMatch(/trailing/);
  });

  it('rejects a list that inflates beyond the limit (a deflate bomb)', () => {
    const bomb = deflateRawSync(Buffer.alloc(8 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(64 * 1024);
    expect(wireError(() => unpackEntries(bomb, 1, 1024 * 1024)).message).toMatch(/inflate/);
  });

  it('rejects hostile packings: a prefix longer than the previous name, unsorted names, unsafe names, a target on a file', () => {
    const raw = (build: (w: ByteWriter) => void): Buffer => {
      const w = new ByteWriter();
      build(w);
      return deflateRawSync(w.finish());
    };
    const fileTail = (w: ByteWriter, flags = 16): void => {
      w.u8(EntryType.File);
      w.u8(flags);
      w.varint(0o644, 'mode');
      w.varint(0, 'uid');
      w.varint(0, 'gid');
      for (let i = 0; i < 3; i++) w.u8(0);
      w.bigVarint(1n, 'dev');
      w.bigVarint(1n, 'size');
    };
    const entry = (w: ByteWriter, shared: number, suffix: string, flags = 16): void => {
      w.varint(shared, 'shared');
      w.bytes(Buffer.from(suffix), 255, 'suffix');
      fileTail(w, flags);
    };
    expect(wireError(() => unpackEntries(raw((w) => entry(w, 1, 'a')), 1)).message).toMatch(/prefix/);
    expect(wireError(() => unpackEntries(raw((w) => (entry(w, 0, 'b'), entry(w, 0, 'a'))), 2)).message).toMatch(/name order/);
    expect(wireError(() => unpackEntries(raw((w) => entry(w, 0, '..')), 1)).code).toBe(ErrorCode.BadPath);
    expect(wireError(() => unpackEntries(raw((w) => entry(w, 0, 'a/b')), 1)).code).toBe(ErrorCode.BadPath);
    expect(wireError(() => unpackEntries(raw((w) => entry(w, 0, 'a', 16 | 1)), 1)).message).toMatch(/first entry/);
    expect(wireError(() => unpackEntries(raw((w) => entry(w, 0, 'a', 16 | 32)), 1)).code).toBe(ErrorCode.Protocol);
    expect(wireError(() => unpackEntries(Buffer.from('not deflate at all'), 1)).code).toBe(ErrorCode.Protocol);
  });

  it('travels in a PackedChunk frame and decodes to the same entries', () => {
    const entries = smallFiles(300);
    const frame = encodeMessage({ type: MessageType.PackedChunk, seq: 7, dir: Buffer.from('/srv/data'), entries, last: false });
    const plain = encodeMessage({ type: MessageType.Chunk, seq: 7, dir: Buffer.from('/srv/data'), entries, last: false });
    expect(frame.length * 4).toBeLessThan(plain.length);
    expect(decodeFrameBody(frame.subarray(4))).toEqual({ type: MessageType.PackedChunk, seq: 7, dir: Buffer.from('/srv/data'), entries, last: false });
  });

  it('sends entries packed ahead (packEntryColumns) as the same frame as the PackedChunk of those entries', () => {
    const entries = smallFiles(300);
    const dir = Buffer.from('/srv/data');
    const packed = packEntryColumns(columnsOf(entries), 0, entries.length);
    const frame = encodeMessage({ type: MessageType.PackedChunk, seq: 7, dir, count: entries.length, packed, last: true });
    expect(frame).toEqual(encodeMessage({ type: MessageType.PackedChunk, seq: 7, dir, entries, last: true }));
    expect(decodeFrameBody(frame.subarray(4))).toEqual({ type: MessageType.PackedChunk, seq: 7, dir, entries, last: true });
  });

  it('rejects a PackedChunk whose directory is not a normalized absolute path', () => {
    const frame = encodeMessage({ type: MessageType.PackedChunk, seq: 1, dir: Buffer.from('/a/../b'), entries: smallFiles(1), last: true });
    expect(wireError(() => decodeFrameBody(frame.subarray(4))).code).toBe(ErrorCode.BadPath);
  });
});

const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;
const U64_MAX = (1n << 64n) - 1n;

/** Entries that look alike, as in one directory, with fields stepping by small amounts and by ones that leave i64. */
const alikeEntriesArb = fc
  .record({
    count: fc.integer({ min: 1, max: 40 }),
    mtime: fc.constantFrom(0n, 1_764_000_000_123_456_789n, -86_400_000_000_000n, I64_MAX - 5n, I64_MIN + 5n),
    ino: fc.constantFrom(0n, 5_000_000n, (1n << 32n) - 3n, (1n << 63n) - 2n, U64_MAX - 3n),
    dev: fc.constantFrom(0n, 2049n, 1n << 40n, U64_MAX),
    steps: fc.array(
      fc.record({
        mtime: fc.oneof(fc.bigInt({ min: -(1n << 40n), max: 1n << 40n }), fc.constantFrom(I64_MAX, I64_MIN, 1n << 62n)),
        ctime: fc.oneof(fc.bigInt({ min: -(1n << 33n), max: 1n << 33n }), fc.constantFrom(I64_MAX, I64_MIN)),
        ino: fc.oneof(fc.bigInt({ min: -(1n << 31n), max: 1n << 31n }), fc.constantFrom(1n << 63n, -(1n << 63n), U64_MAX)),
        sameDev: fc.boolean(),
        mode: fc.constantFrom(0o644, 0o755, 0o4755),
        uid: fc.constantFrom(0, 1000, 0xffff_ffff),
        type: fc.constantFrom(EntryType.File, EntryType.File, EntryType.Dir, EntryType.Symlink, EntryType.CharDevice),
        size: fc.oneof(fc.bigInt({ min: 0n, max: 1n << 20n }), fc.constant(U64_MAX)),
        nlink: fc.constantFrom(1, 1, 2, 0xffff_ffff),
      }),
      { minLength: 40, maxLength: 40 },
    ),
  })
  .map(({ count, mtime, ino, dev, steps }) => {
    const clampI64 = (value: bigint): bigint => (value > I64_MAX ? I64_MAX : value < I64_MIN ? I64_MIN : value);
    const entries: EntryMeta[] = [];
    let [m, i, d] = [mtime, ino, dev];
    for (let n = 0; n < count; n++) {
      const step = steps[n]!;
      m = clampI64(m + step.mtime);
      i = BigInt.asUintN(64, i + step.ino);
      if (!step.sameDev) d = BigInt.asUintN(64, d + 1n);
      entries.push({
        name: Buffer.from(`entry-${String(n).padStart(3, '0')}${n % 3 === 0 ? '-longer-name' : ''}`),
        type: step.type,
        mode: step.mode,
        uid: step.uid,
        gid: step.uid === 0 ? 0 : 100,
        mtimeNs: m,
        ctimeNs: clampI64(m + step.ctime),
        ino: i,
        dev: d,
        size: step.type === EntryType.File ? step.size : 0n,
        nlink: step.nlink,
        linkTarget: step.type === EntryType.Symlink ? Buffer.from(`../target-${n}`) : null,
        rdev: step.type === EntryType.CharDevice ? (1n << 40n) | BigInt(n) : 0n,
      });
    }
    return entries;
  });

describe('packEntryColumns', () => {
  it('packs the same bytes as packEntries, from any sorted entries', () => {
    fc.assert(
      fc.property(sortedEntriesArb, (entries) => {
        expect(packEntryColumns(columnsOf(entries), 0, entries.length)).toEqual(packEntries(entries));
      }),
      { numRuns: 1000 },
    );
  });

  it('packs the same bytes as packEntries from alike entries, differences inside and outside i64 included', () => {
    fc.assert(
      fc.property(alikeEntriesArb, (entries) => {
        const packed = packEntryColumns(columnsOf(entries), 0, entries.length);
        expect(packed).toEqual(packEntries(entries));
        expect(unpackEntries(packed, entries.length)).toEqual(entries);
      }),
      { numRuns: 500 },
    );
  });

  it('packs any range of alike entries as packEntries packs that slice (the first entry of a range has no previous one)', () => {
    fc.assert(
      fc.property(alikeEntriesArb, fc.nat(), fc.nat(), (entries, a, b) => {
        const first = a % (entries.length + 1);
        const count = b % (entries.length - first + 1);
        expect(packEntryColumns(columnsOf(entries), first, count)).toEqual(packEntries(entries.slice(first, first + count)));
      }),
      { numRuns: 500 },
    );
  });

  it('packs the ranges a large directory is cut into as packEntries packs those slices', () => {
    const entries = smallFiles(300);
    const columns = columnsOf(entries);
    for (const [first, count] of [
      [0, 300],
      [1, 1],
      [100, 150],
      [299, 1],
    ] as const) {
      expect(packEntryColumns(columns, first, count)).toEqual(packEntries(entries.slice(first, first + count)));
    }
  });

  it('refuses an entry whose time leaves i64, naming the field (the receiver refuses such an entry too)', () => {
    const entries = smallFiles(3);
    const wide = [entries[0]!, { ...entries[1]!, ctimeNs: I64_MAX + 1n }, entries[2]!];
    expect(wireError(() => packEntryColumns(columnsOf(wide), 0, 3)).message).toMatch(/entry.ctimeNs: .* is outside i64/);
    expect(wireError(() => unpackEntries(packEntries(wide), 3)).message).toMatch(/outside i64/);
    // Outside the range packed, it does not matter.
    expect(packEntryColumns(columnsOf(wide), 2, 1)).toEqual(packEntries([entries[2]!]));
  });
});

describe('ByteWriter.bigVarint', () => {
  it('writes the plain LEB128 of every u64, on each side of 2^53', () => {
    const reference = (value: bigint): number[] => {
      const out: number[] = [];
      let rest = value;
      while (rest >= 0x80n) {
        out.push(Number(rest & 0x7fn) | 0x80);
        rest >>= 7n;
      }
      out.push(Number(rest));
      return out;
    };
    const edges = [0n, 127n, 128n, (1n << 53n) - 1n, 1n << 53n, (1n << 53n) + 1n, 1n << 56n, 3_400_000_000_000_000_001n, (1n << 64n) - 1n];
    fc.assert(
      fc.property(fc.oneof(fc.constantFrom(...edges), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })), (value) => {
        const w = new ByteWriter();
        w.bigVarint(value, 'value');
        expect([...w.finish()]).toEqual(reference(value));
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses a value outside u64, naming the field, on either side of the number path', () => {
    for (const value of [-1n, -(1n << 53n), -(1n << 70n), 1n << 64n, (1n << 64n) + 1n, 1n << 80n]) {
      expect(() => new ByteWriter().bigVarint(value, 'entry.size')).toThrow(`entry.size: ${value} is outside u64`);
    }
  });
});

describe('ByteWriter.signedBigVarint', () => {
  it('writes the zigzag LEB128 of every i64, as bigVarint of the zigzagged value', () => {
    const edges = [0n, -1n, 1n, -(1n << 62n), (1n << 62n) - 1n, 1_764_100_000_123_456_789n, -1_000_000_001n, -(1n << 63n), (1n << 63n) - 1n];
    fc.assert(
      fc.property(fc.oneof(fc.constantFrom(...edges), fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n })), (value) => {
        const signed = new ByteWriter();
        signed.signedBigVarint(value, 'value');
        const zigzag = new ByteWriter();
        zigzag.bigVarint(value >= 0n ? value << 1n : (-value << 1n) - 1n, 'value');
        expect([...signed.finish()]).toEqual([...zigzag.finish()]);
      }),
      { numRuns: 2000 },
    );
    expect(() => new ByteWriter().signedBigVarint(1n << 63n, 'value')).toThrow(/outside i64/);
  });
});

describe('ByteReader.bigVarint and signedBigVarint', () => {
  const u64Edges = [0n, 127n, 128n, (1n << 49n) - 1n, 1n << 49n, (1n << 53n) + 1n, 1n << 56n, (1n << 63n) + 12_345n, (1n << 64n) - 1n];
  const i64Edges = [0n, -1n, 1n, -(1n << 48n), 1n << 48n, 1_764_100_000_123_456_789n, -1_000_000_001n, -(1n << 63n), (1n << 63n) - 1n];

  it('reads back every u64 and i64 the writer wrote, on each side of the 49-bit fast path', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.constantFrom(...u64Edges), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })),
        fc.oneof(fc.constantFrom(...i64Edges), fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n })),
        (unsigned, signed) => {
          const w = new ByteWriter();
          w.bigVarint(unsigned, 'u');
          w.signedBigVarint(signed, 's');
          const r = new ByteReader(w.finish());
          expect(r.bigVarint('u')).toBe(unsigned);
          expect(r.signedBigVarint('s')).toBe(signed);
          expect(r.remaining).toBe(0);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('rejects varints that are overlong, longer than 10 bytes, beyond 64 bits or truncated, naming the field', () => {
    const read = (bytes: number[]): string => (thrownBy(() => new ByteReader(Buffer.from(bytes)).bigVarint('entry.size')) as WireError).message;
    expect(read([0x81, 0x00])).toBe('entry.size: overlong varint');
    expect(read([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x80, 0x00])).toBe('entry.size: overlong varint');
    expect(read([...Array<number>(10).fill(0xff), 0x01])).toBe('entry.size: varint longer than 10 bytes');
    expect(read([...Array<number>(9).fill(0xff), 0x02])).toBe('entry.size: exceeds u64');
    expect(read([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])).toMatch(/^truncated payload: entry.size/);
    expect(new ByteReader(Buffer.from([...Array<number>(9).fill(0xff), 0x01])).bigVarint('entry.size')).toBe((1n << 64n) - 1n);
  });
});
