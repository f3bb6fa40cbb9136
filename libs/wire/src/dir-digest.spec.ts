import { columnsOf } from '../test/columns';
import { thrownBy } from '../test/thrown';
import { decodeFrameBody, encodeMessage } from './codec';
import { DIR_DIGEST_BYTES, directoryDigest, directoryDigestOfColumns } from './dir-digest';
import { WireError } from './errors';
import { EntryType, MessageType, type EntryMeta } from './messages';

function entry(name: string, type: EntryType = EntryType.File, overrides: Partial<EntryMeta> = {}): EntryMeta {
  return {
    name: Buffer.from(name),
    type,
    mode: 0o644,
    uid: 1000,
    gid: 1000,
    mtimeNs: 1_700_000_000_000_000_000n,
    ctimeNs: 1_700_000_000_000_000_000n,
    ino: 42n,
    dev: 2049n,
    size: type === EntryType.File ? 10n : 0n,
    nlink: 1,
    linkTarget: null,
    rdev: 0n,
    ...overrides,
  };
}

const child = Buffer.alloc(DIR_DIGEST_BYTES, 7);
const entries = [entry('a'), entry('sub', EntryType.Dir), entry('z')];
const digest = (list: readonly EntryMeta[], sub: Buffer | null = child): Buffer | null => directoryDigest(list, () => sub);

describe('directoryDigest', () => {
  it('is the same for the same metadata and subdirectory digests', () => {
    expect(digest(entries)).toEqual(digest(entries.map((e) => ({ ...e, name: Buffer.from(e.name) }))));
    expect(digest(entries)?.length).toBe(DIR_DIGEST_BYTES);
  });

  it('changes with any field of any entry, and with a subdirectory digest', () => {
    const base = digest(entries);
    const changed: Array<Partial<EntryMeta>> = [{ mtimeNs: 1n }, { ctimeNs: 1n }, { size: 11n }, { ino: 43n }, { mode: 0o600 }, { uid: 0 }, { nlink: 2 }];
    for (const change of changed) expect(digest([{ ...entries[0]!, ...change }, entries[1]!, entries[2]!])).not.toEqual(base);
    expect(digest(entries.slice(0, 2))).not.toEqual(base);
    expect(digest(entries, Buffer.alloc(DIR_DIGEST_BYTES, 8))).not.toEqual(base);
  });

  it('is unknown when a subdirectory digest is unknown (not walked) or malformed', () => {
    expect(digest(entries, null)).toBeNull();
    expect(digest(entries, Buffer.alloc(5))).toBeNull();
    expect(digest([entry('a')], null)).not.toBeNull();
  });
});

describe('DirDigest and DigestReply frames', () => {
  it('round-trip', () => {
    const probe = { type: MessageType.DirDigest, seq: 3, dir: Buffer.from('/srv'), digest: child } as const;
    expect(decodeFrameBody(encodeMessage(probe).subarray(4))).toEqual(probe);
    const reply = { type: MessageType.DigestReply, seq: 3, reused: true } as const;
    expect(decodeFrameBody(encodeMessage(reply).subarray(4))).toEqual(reply);
  });

  it('reject a short digest, on either side', () => {
    expect(thrownBy(() => encodeMessage({ type: MessageType.DirDigest, seq: 3, dir: Buffer.from('/srv'), digest: Buffer.alloc(31) }))).toBeInstanceOf(WireError);
    const body = encodeMessage({ type: MessageType.DirDigest, seq: 3, dir: Buffer.from('/srv'), digest: child }).subarray(4);
    expect(thrownBy(() => decodeFrameBody(body.subarray(0, body.length - 1)))).toBeInstanceOf(WireError);
    expect(thrownBy(() => decodeFrameBody(Buffer.concat([body, Buffer.from([0])])))).toBeInstanceOf(WireError);
  });
});

describe('directoryDigestOfColumns', () => {
  it('equals directoryDigest of the same entries, across the whole range of every 64-bit field', () => {
    const I64_MAX = (1n << 63n) - 1n;
    const U64_MAX = (1n << 64n) - 1n;
    const times = [0n, 1n, -1n, 127n, -128n, 1_700_000_000_123_456_789n, -86_400_250_000_000n, I64_MAX, -I64_MAX - 1n];
    const unsigned = [0n, 1n, 127n, 128n, (1n << 31n) - 1n, 1n << 31n, (1n << 32n) - 1n, 1n << 32n, 1n << 53n, (1n << 63n) + 5n, U64_MAX];
    const list: EntryMeta[] = [];
    times.forEach((time, i) => list.push(entry(`t${String(i).padStart(2, '0')}`, EntryType.File, { mtimeNs: time, ctimeNs: times[times.length - 1 - i]! })));
    unsigned.forEach((value, i) =>
      list.push(entry(`u${String(i).padStart(2, '0')}`, EntryType.File, { ino: value, dev: unsigned[unsigned.length - 1 - i]!, size: value, nlink: 0xffff_ffff, uid: 0xffff_ffff })),
    );
    list.push(entry('v-dev', EntryType.CharDevice, { rdev: (1n << 40n) | 3n }));
    list.push(entry('w-link', EntryType.Symlink, { linkTarget: Buffer.from([0x2e, 0x2e, 0x2f, 0xff]) }));
    list.push(entry('x-sub', EntryType.Dir));
    expect(directoryDigestOfColumns(columnsOf(list), list.length, () => child)).toEqual(directoryDigest(list, () => child));
    expect(directoryDigestOfColumns(columnsOf(list), list.length, () => null)).toBeNull();
    expect(directoryDigestOfColumns(columnsOf([]), 0, () => child)).toEqual(directoryDigest([], () => child));
    // A time whose nanoseconds leave i64 cannot be encoded either way.
    const wide = [entry('far', EntryType.File, { mtimeNs: I64_MAX + 1n })];
    expect(() => directoryDigest(wide, () => child)).toThrow(/outside i64/);
    expect(() => directoryDigestOfColumns(columnsOf(wide), 1, () => child)).toThrow(/outside i64/);
  });

  it('changes with each field, as directoryDigest does', () => {
    const base = directoryDigestOfColumns(columnsOf(entries), entries.length, () => child);
    const changed: Array<Partial<EntryMeta>> = [{ mtimeNs: 1n }, { ctimeNs: -1n }, { size: 11n }, { ino: 1n << 40n }, { dev: 1n }, { mode: 0o600 }, { uid: 0 }, { gid: 7 }, { nlink: 2 }];
    for (const change of changed) {
      const list = [{ ...entries[0]!, ...change }, entries[1]!, entries[2]!];
      expect(directoryDigestOfColumns(columnsOf(list), list.length, () => child)).not.toEqual(base);
    }
  });
});
