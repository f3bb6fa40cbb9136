import { thrownBy } from '../test/thrown';
import { decodeFrameBody, encodeMessage } from './codec';
import { DIR_DIGEST_BYTES, directoryDigest } from './dir-digest';
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
