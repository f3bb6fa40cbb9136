import { thrownBy } from '../test/thrown';
import fc from 'fast-check';
import { messageArb } from '../test/arbitraries';
import { decodeFrameBody, encodeMessage, encodeMessageParts, ZERO_COPY_DATA_BYTES } from './codec';
import { type WireError } from './errors';
import { FrameDecoder } from './frame-decoder';
import { EntryType, ErrorCode, MAX_FRAME_BYTES, MessageType, type EntryMeta, type Message } from './messages';

const decoderLimit = { maxFrameBytes: MAX_FRAME_BYTES };

/** A Welcome with no trailing field: what a v1 agent gets (the version tests below add theirs). */
const plainWelcome = {
  type: MessageType.Welcome,
  sessionId: 's',
  attempt: 2,
  committedDirs: [],
  maxFrameBytes: 1024,
  chunkMaxEntries: 10,
  chunkMaxBytes: 100,
  heartbeatMs: 5,
  idleTimeoutMs: 10,
  creditBytes: 7,
  creditOps: 8,
  resumeDirs: [],
  sentThrough: null,
  previousSnapshot: null,
} as const;

function entry(name: string | Buffer, overrides: Partial<EntryMeta> = {}): EntryMeta {
  return {
    name: typeof name === 'string' ? Buffer.from(name) : name,
    type: EntryType.File,
    mode: 0o644,
    uid: 1000,
    gid: 1000,
    mtimeNs: 1_700_000_000_123_456_789n,
    ctimeNs: 1_700_000_000_123_456_789n,
    ino: 42n,
    dev: 2049n,
    size: 10n,
    nlink: 1,
    linkTarget: null,
    rdev: 0n,
    ...overrides,
  };
}

function chunkWith(entries: EntryMeta[], dir = '/data'): Message {
  return { type: MessageType.Chunk, seq: 1, dir: Buffer.from(dir), entries, last: true };
}

function decodeError(frame: Buffer, maxFrameBytes = MAX_FRAME_BYTES): WireError {
  try {
    new FrameDecoder({ maxFrameBytes }).push(frame);
  } catch (error) {
    return error as WireError;
  }
  throw new Error('frame was accepted');
}

/** Builds a frame from a raw body (type byte + payload). */
function frameOf(body: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt32BE(body.length);
  return Buffer.concat([header, body]);
}

describe('encodeMessage / decode round trip', () => {
  it('decodes every message type back to an equal value', () => {
    fc.assert(
      fc.property(messageArb, (msg) => {
        const frame = encodeMessage(msg);
        expect(frame.readUInt32BE(0)).toBe(frame.length - 4);
        expect(frame[4]).toBe(msg.type);
        const decoded = new FrameDecoder(decoderLimit).push(frame);
        expect(decoded).toEqual([msg]);
      }),
      { numRuns: 2000 },
    );
  });

  it('covers every message type in the union', () => {
    const seen = new Set<number>();
    fc.assert(fc.property(messageArb, (msg) => void seen.add(msg.type)), { numRuns: 500 });
    expect([...seen].sort((a, b) => a - b)).toEqual(Object.values(MessageType).sort((a, b) => a - b));
  });

  it('keeps names as raw bytes that are not UTF-8', () => {
    const raw = Buffer.from([0xff, 0xfe, 0x0a, 0x09, 0x2d]);
    const [decoded] = new FrameDecoder(decoderLimit).push(encodeMessage(chunkWith([entry(raw)])));
    expect(decoded?.type === MessageType.Chunk && decoded.entries[0]?.name).toEqual(raw);
  });

  it('keeps negative timestamps (files dated before 1970)', () => {
    const msg = chunkWith([entry('old', { mtimeNs: -1_000_000_001n, ctimeNs: -5n })]);
    expect(new FrameDecoder(decoderLimit).push(encodeMessage(msg))).toEqual([msg]);
  });

  it('refuses to encode a message that cannot fit a frame', () => {
    const data = Buffer.alloc(MAX_FRAME_BYTES);
    expect(thrownBy(() => encodeMessage({ type: MessageType.FileData, seq: 0, index: 0, data }))).toMatchObject({ code: ErrorCode.FrameTooLarge });
  });

  it('refuses to encode integers outside their range', () => {
    expect(() => encodeMessage({ type: MessageType.Credit, bytes: -1, ops: 0 })).toThrow(/credit.bytes/);
    expect(() => encodeMessage({ type: MessageType.Credit, bytes: 1.5, ops: 0 })).toThrow(/credit.bytes/);
  });
});

describe('encodeMessageParts', () => {
  it('frames FileData without copying its data, byte for byte the frame encodeMessage makes', () => {
    for (const length of [0, 1, ZERO_COPY_DATA_BYTES - 1, ZERO_COPY_DATA_BYTES, 200_000, 1024 * 1024]) {
      const data = Buffer.alloc(length, length % 251);
      const msg: Message = { type: MessageType.FileData, seq: 300, index: 70_000, data };
      const parts = encodeMessageParts(msg);
      expect(Buffer.concat(parts).equals(encodeMessage(msg))).toBe(true);
      expect(parts[parts.length - 1] === data).toBe(length >= ZERO_COPY_DATA_BYTES);
    }
  });

  it('frames every other message as encodeMessage does', () => {
    fc.assert(
      fc.property(messageArb, (msg) => {
        expect(Buffer.concat(encodeMessageParts(msg)).equals(encodeMessage(msg))).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('refuses FileData too large for a frame', () => {
    const msg: Message = { type: MessageType.FileData, seq: 0, index: 0, data: Buffer.alloc(MAX_FRAME_BYTES) };
    expect(() => encodeMessageParts(msg)).toThrow(/exceed/);
  });
});

describe('decoding malformed input', () => {
  const valid = encodeMessage(chunkWith([entry('a'), entry('b')]));

  it('rejects every truncation of a valid payload (length header adjusted)', () => {
    const body = valid.subarray(4);
    for (let cut = 1; cut < body.length; cut++) {
      const error = decodeError(frameOf(body.subarray(0, cut)));
      expect(error.code).toBe(ErrorCode.Protocol);
    }
  });

  it('rejects trailing bytes after a complete payload', () => {
    const error = decodeError(frameOf(Buffer.concat([valid.subarray(4), Buffer.from([0])])));
    expect(error.code).toBe(ErrorCode.Protocol);
    expect(error.message).toMatch(/trailing/);
  });

  it('rejects an oversized length header before the body arrives', () => {
    const header = Buffer.alloc(4);
    header.writeUInt32BE(1024 * 1024 + 1);
    const error = decodeError(header, 1024 * 1024);
    expect(error.code).toBe(ErrorCode.FrameTooLarge);
    const huge = Buffer.from([0xff, 0xff, 0xff, 0xff]);
    expect(decodeError(huge).code).toBe(ErrorCode.FrameTooLarge);
  });

  it('rejects an empty frame and an unknown message type', () => {
    expect(decodeError(Buffer.alloc(4)).code).toBe(ErrorCode.Protocol);
    for (const type of [0, 6, 99, 255]) {
      const error = decodeError(frameOf(Buffer.from([type])));
      expect(error.code).toBe(ErrorCode.Protocol);
      expect(error.message).toMatch(/unknown message type/);
    }
  });

  it('rejects garbage bytes', () => {
    const garbage = Buffer.from('GET / HTTP/1.1\r\nHost: example\r\n\r\n');
    expect(decodeError(garbage).code).toBe(ErrorCode.FrameTooLarge);
  });

  it('rejects a count larger than the remaining bytes could hold', () => {
    // Chunk: seq 1, dir "/", entry count 1000, nothing after it.
    const error = decodeError(frameOf(Buffer.from([MessageType.Chunk, 1, 1, 0x2f, 0xe8, 0x07])));
    expect(error.code).toBe(ErrorCode.Protocol);
    expect(error.message).toMatch(/count 1000/);
    const plan = decodeError(frameOf(Buffer.from([MessageType.ChunkPlan, 1, 5, 0, 1])));
    expect(plan.message).toMatch(/count 5/);
  });

  it('encodes a Wait without timers exactly as protocol 1 did, and a v2 Wait with them as trailing fields', () => {
    const v1 = encodeMessage({ type: MessageType.Wait, position: 3, timers: null });
    expect([...v1]).toEqual([0, 0, 0, 2, MessageType.Wait, 3]);
    const v2 = encodeMessage({ type: MessageType.Wait, position: 3, timers: { heartbeatMs: 1000, idleTimeoutMs: 3000 } });
    expect(decodeFrameBody(v2.subarray(4))).toEqual({ type: MessageType.Wait, position: 3, timers: { heartbeatMs: 1000, idleTimeoutMs: 3000 } });
    expect(v2.subarray(4, 6)).toEqual(v1.subarray(4));
    expect(decodeError(frameOf(Buffer.from([MessageType.Wait, 3, 0x88]))).message).toMatch(/wait.heartbeatMs/);
  });

  it('encodes a Welcome without resume points exactly as protocol 1 did; resume points are trailing fields', () => {
    const welcome = { ...plainWelcome, committedDirs: [Buffer.from('/a')] };
    const v1 = encodeMessage(welcome);
    // type, "s", attempt, one dir "/a", then six one-byte varints and two more: nothing after creditOps.
    expect(v1.subarray(4)).toEqual(Buffer.from([MessageType.Welcome, 1, 0x73, 2, 1, 2, 0x2f, 0x61, 0x80, 0x08, 10, 100, 5, 10, 7, 8]));
    const resumeDirs = [{ dir: Buffer.from('/big'), after: Buffer.from('f0511') }];
    const v2 = encodeMessage({ ...welcome, resumeDirs });
    expect(v2.subarray(4, v1.length)).toEqual(v1.subarray(4));
    expect(decodeFrameBody(v2.subarray(4))).toEqual({ ...welcome, resumeDirs });
    const badName = Buffer.concat([v1.subarray(4), Buffer.from([1, 2, 0x2f, 0x62, 1, 0x2f])]);
    expect(() => decodeFrameBody(badName)).toThrow(/name/);
  });

  it('rejects bad varints: overlong, too long, above the field range', () => {
    expect(decodeError(frameOf(Buffer.from([MessageType.Wait, 0x81, 0x00]))).message).toMatch(/overlong/);
    expect(decodeError(frameOf(Buffer.from([MessageType.Credit, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0]))).message).toMatch(/longer than/);
    expect(decodeError(frameOf(Buffer.from([MessageType.Wait, 0x80, 0x80, 0x80, 0x80, 0x10]))).message).toMatch(/exceeds 4294967295/);
  });

  it('rejects unknown enum values and non-boolean flags', () => {
    const badType = Buffer.from(valid);
    const typeOffset = 4 + 1 + 1 + 1 + 5 + 1 + 1 + 1; // frame header, type, seq, dir len, "/data", count, name len, "a"
    expect(badType[typeOffset]).toBe(EntryType.File);
    badType[typeOffset] = 9;
    expect(decodeError(badType).message).toMatch(/entry.type/);
    const lastFlag = Buffer.from(valid);
    lastFlag[lastFlag.length - 1] = 2;
    expect(decodeError(lastFlag).message).toMatch(/chunk.last/);
    const plan = encodeMessage({ type: MessageType.ChunkPlan, seq: 0, actions: [0] });
    plan[plan.length - 1] = 7;
    expect(decodeError(plan).message).toMatch(/plan.action/);
  });

  it('rejects unsorted or duplicate entry names in a chunk', () => {
    expect(decodeError(encodeMessage(chunkWith([entry('b'), entry('a')]))).message).toMatch(/name order/);
    expect(decodeError(encodeMessage(chunkWith([entry('a'), entry('a')]))).message).toMatch(/name order/);
  });

  it.each([
    ['"/" in a name', Buffer.from('a/b')],
    ['".."', Buffer.from('..')],
    ['"."', Buffer.from('.')],
    ['a NUL byte', Buffer.from('a\0b')],
    ['256 bytes', Buffer.alloc(256, 0x61)],
  ])('rejects a name with %s as bad_path', (_what, name) => {
    const error = decodeError(encodeMessage(chunkWith([entry(name)])));
    expect(error.code).toBe(ErrorCode.BadPath);
  });

  it('accepts a name of exactly 255 bytes', () => {
    const msg = chunkWith([entry(Buffer.alloc(255, 0x61))]);
    expect(new FrameDecoder(decoderLimit).push(encodeMessage(msg))).toEqual([msg]);
  });

  it.each(['data', '/a/../b', '/a/./b', '/a//b', '/a/', '//', '/a\0b', ''])('rejects the chunk directory %j', (dir) => {
    const error = decodeError(encodeMessage(chunkWith([], dir)));
    expect(error.code).toBe(ErrorCode.BadPath);
  });

  it('rejects restore paths that are absolute or escape', () => {
    const restoreEntry = (path: string): Message => ({ type: MessageType.RestoreEntry, ordinal: 1, path: Buffer.from(path), entry: entry('x'), hardlinkOf: null });
    for (const path of ['/etc/passwd', '../x', 'a/../../x', 'a//b', '']) {
      expect(decodeError(encodeMessage(restoreEntry(path))).code).toBe(ErrorCode.BadPath);
    }
    const forwardLink: Message = { type: MessageType.RestoreEntry, ordinal: 3, path: Buffer.from('x'), entry: entry('x'), hardlinkOf: 3 };
    expect(decodeError(encodeMessage(forwardLink)).message).toMatch(/hardlinkOf/);
  });

  it('rejects a link target on a non-symlink and a symlink without one', () => {
    expect(decodeError(encodeMessage(chunkWith([entry('f', { linkTarget: Buffer.from('/x') })]))).message).toMatch(/only symlinks/);
    expect(decodeError(encodeMessage(chunkWith([entry('l', { type: EntryType.Symlink })]))).message).toMatch(/needs a target/);
  });

  it('rejects an invalid UTF-8 string and an unknown error code', () => {
    const hello = encodeMessage({ type: MessageType.Hello, protocol: 1, role: 'backup', hostId: 'hh', runId: 'r', credential: 'c', agentVersion: 'v' });
    const hostIdOffset = 4 + 1 + 1 + 1 + 1; // header, type, protocol, role, length
    hello[hostIdOffset] = 0xc3;
    hello[hostIdOffset + 1] = 0x28;
    expect(decodeError(hello).message).toMatch(/UTF-8/);
    const bogus = frameOf(Buffer.from([MessageType.Error, 4, ...Buffer.from('nope'), 0]));
    expect(decodeError(bogus).message).toMatch(/unknown code/);
  });

  it('decodes a body directly and reports the field that failed', () => {
    expect(() => decodeFrameBody(Buffer.from([MessageType.FileEnd, 1, 2, 3]))).toThrow(/end.sha256/);
  });
});

describe('protocol v2 messages', () => {
  it('keeps the v1 encoding of the v1 messages (a v1 peer decodes what a v2 peer sends it)', () => {
    const plan = encodeMessage({ type: MessageType.ChunkPlan, seq: 3, actions: [0, 1] });
    expect(plan.toString('hex')).toBe('000000050b03020001');
  });

  it('rejects an offer whose chunk list is cut short or a plan action it does not know', () => {
    const offer = encodeMessage({ type: MessageType.ContentOffer, seq: 1, index: 0, size: 5n, sha256: Buffer.alloc(32, 1), chunks: [Buffer.alloc(32, 2)] });
    expect(decodeError(frameOf(offer.subarray(4, offer.length - 1))).message).toMatch(/offer.chunks|truncated/);
    expect(decodeError(frameOf(Buffer.from([MessageType.ChunkPlan, 1, 1, 3]))).message).toMatch(/unknown action 3/);
    expect(() => encodeMessage({ type: MessageType.ContentOffer, seq: 1, index: 0, size: 5n, sha256: Buffer.alloc(32), chunks: [Buffer.alloc(31)] })).toThrow(/offer.chunk/);
  });
});

describe('protocol v3 fields: held chunks of an offer, how far earlier attempts got', () => {
  const welcome = plainWelcome;
  const sentThrough = { dir: Buffer.from('/data/big'), name: Buffer.from('disk.img'), offset: 125_829_120n };

  it('encodes an OfferReply without held chunks exactly as v2 did, and held chunks as a trailing varint', () => {
    const v2 = encodeMessage({ type: MessageType.OfferReply, seq: 3, index: 1, known: false, heldChunks: 0 });
    expect(v2.toString('hex')).toBe('0000000412030100');
    const v3 = encodeMessage({ type: MessageType.OfferReply, seq: 3, index: 1, known: false, heldChunks: 120 });
    expect(v3.subarray(4, 8)).toEqual(v2.subarray(4, 8));
    expect(decodeFrameBody(v3.subarray(4))).toEqual({ type: MessageType.OfferReply, seq: 3, index: 1, known: false, heldChunks: 120 });
  });

  it('rejects held chunks on content held whole, an encoded 0 and a cut varint', () => {
    expect(() => encodeMessage({ type: MessageType.OfferReply, seq: 3, index: 1, known: true, heldChunks: 2 })).toThrow(/reply.heldChunks/);
    expect(decodeError(frameOf(Buffer.from([MessageType.OfferReply, 3, 1, 1, 2]))).message).toMatch(/reply.heldChunks/);
    expect(decodeError(frameOf(Buffer.from([MessageType.OfferReply, 3, 1, 0, 0]))).message).toMatch(/reply.heldChunks: 0/);
    expect(decodeError(frameOf(Buffer.from([MessageType.OfferReply, 3, 1, 0, 0x80]))).message).toMatch(/reply.heldChunks/);
    expect(decodeError(frameOf(Buffer.from([MessageType.OfferReply, 3, 1, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]))).message).toMatch(/reply.heldChunks/);
  });

  it('encodes sentThrough after a (possibly empty) resumeDirs list; a v2 Welcome is unchanged', () => {
    const v2 = encodeMessage(welcome);
    const v3 = encodeMessage({ ...welcome, sentThrough });
    expect(v3.subarray(4, v2.length)).toEqual(v2.subarray(4));
    expect(v3[v2.length]).toBe(0); // the empty resumeDirs list
    expect(decodeFrameBody(v3.subarray(4))).toEqual({ ...welcome, sentThrough });
    const delta = { ...sentThrough, offset: null };
    expect(decodeFrameBody(encodeMessage({ ...welcome, sentThrough: delta }).subarray(4))).toEqual({ ...welcome, sentThrough: delta });
    const withDirs = { ...welcome, resumeDirs: [{ dir: Buffer.from('/a'), after: Buffer.from('f') }], sentThrough: { ...sentThrough, offset: 0n } };
    expect(decodeFrameBody(encodeMessage(withDirs).subarray(4))).toEqual(withDirs);
  });

  it('rejects a truncated or hostile sentThrough', () => {
    const v2 = encodeMessage(welcome).subarray(4);
    const v3 = encodeMessage({ ...welcome, sentThrough }).subarray(4);
    // Every cut inside the trailing fields fails, none is read as a shorter valid message.
    for (let end = v2.length + 2; end < v3.length; end++) expect(() => decodeFrameBody(v3.subarray(0, end))).toThrow(/welcome\.sentThrough|truncated|bad_path|path|name/);
    // An empty resumeDirs list with nothing after it is not a valid encoding.
    expect(() => decodeFrameBody(Buffer.concat([v2, Buffer.from([0])]))).toThrow(/welcome.resumeDirs/);
    const relativeDir = Buffer.concat([v2, Buffer.from([0, 1, 0x61, 1, 0x62, 0])]);
    expect(decodeError(frameOf(relativeDir)).code).toBe(ErrorCode.BadPath);
    const dotDot = Buffer.concat([v2, Buffer.from([0, 1, 0x2f, 2, 0x2e, 0x2e, 0])]);
    expect(decodeError(frameOf(dotDot)).code).toBe(ErrorCode.BadPath);
    // One byte after sentThrough is v6's previousSnapshot; anything more is trailing garbage.
    expect(decodeFrameBody(Buffer.concat([v3, Buffer.from([0])]))).toEqual({ ...welcome, sentThrough, previousSnapshot: false });
    const trailing = Buffer.concat([v3, Buffer.from([0, 0])]);
    expect(() => decodeFrameBody(trailing)).toThrow(/trailing|bytes/);
  });
});

describe('protocol v6 field: whether the receiver holds a previous snapshot of the host', () => {
  const welcome = plainWelcome;
  const sentThrough = { dir: Buffer.from('/data/big'), name: Buffer.from('disk.img'), offset: 3n };

  it('leaves a v5 Welcome unchanged and adds previousSnapshot after an empty resumeDirs list and an empty sentThrough', () => {
    const v5 = encodeMessage(welcome).subarray(4);
    for (const previousSnapshot of [true, false]) {
      const v6 = encodeMessage({ ...welcome, previousSnapshot }).subarray(4);
      // resumeDirs count 0, sentThrough as an empty directory, then the boolean.
      expect(v6).toEqual(Buffer.concat([v5, Buffer.from([0, 0, previousSnapshot ? 1 : 0])]));
      expect(decodeFrameBody(v6)).toEqual({ ...welcome, previousSnapshot });
    }
    const withBoth = { ...welcome, resumeDirs: [{ dir: Buffer.from('/a'), after: Buffer.from('f') }], sentThrough, previousSnapshot: false };
    expect(decodeFrameBody(encodeMessage(withBoth).subarray(4))).toEqual(withBoth);
    // A v3 to v5 Welcome with sentThrough still decodes, previousSnapshot unknown.
    expect(decodeFrameBody(encodeMessage({ ...welcome, sentThrough }).subarray(4))).toEqual({ ...welcome, sentThrough });
  });

  it('encodes a v3 to v5 Welcome byte for byte as before (previousSnapshot null)', () => {
    // Frames as the v5 encoder wrote them: a v1 to v5 agent must get exactly these.
    const withBoth = { ...welcome, resumeDirs: [{ dir: Buffer.from('/a'), after: Buffer.from('f') }], sentThrough: { ...sentThrough, offset: 125_829_120n } };
    expect(encodeMessage(withBoth).toString('hex')).toBe('0000002a030173020080080a64050a070801022f610166092f646174612f626967086469736b2e696d678180803c');
    const deltaOnly = { ...welcome, sentThrough: { dir: Buffer.from('/d'), name: Buffer.from('x'), offset: null } };
    expect(encodeMessage(deltaOnly).toString('hex')).toBe('00000014030173020080080a64050a070800022f64017800');
  });

  it('refuses to encode an empty sentThrough directory: it stands for none', () => {
    expect(() => encodeMessage({ ...welcome, sentThrough: { ...sentThrough, dir: Buffer.alloc(0) } })).toThrow(/welcome.sentThroughDir: empty/);
  });

  it('rejects an empty sentThrough with nothing after it, a non-boolean flag and trailing bytes', () => {
    const v5 = encodeMessage(welcome).subarray(4);
    expect(() => decodeFrameBody(Buffer.concat([v5, Buffer.from([0, 0])]))).toThrow(/welcome.sentThroughDir: an empty directory/);
    expect(() => decodeFrameBody(Buffer.concat([v5, Buffer.from([0, 0, 2])]))).toThrow(/welcome.previousSnapshot: boolean byte 2/);
    expect(() => decodeFrameBody(Buffer.concat([v5, Buffer.from([0, 0, 1, 0])]))).toThrow(/trailing|bytes/);
  });
});

describe('protocol v8 field: the basis chunk ids of a signature', () => {
  const frame = { type: MessageType.Signature, seq: 3, index: 1, data: Buffer.from([1, 2, 3]), last: true } as const;
  const ids = Buffer.concat([Buffer.alloc(32, 0xaa), Buffer.alloc(32, 0xbb)]);

  it('encodes a Signature without ids exactly as v2 did, and the ids as a trailing byte string of the last frame', () => {
    const v2 = encodeMessage({ ...frame, basisChunks: null });
    expect(v2.toString('hex')).toBe('000000080f03010301020301');
    const v8 = encodeMessage({ ...frame, basisChunks: ids });
    expect(v8.subarray(8, 12)).toEqual(v2.subarray(8, 12));
    expect(decodeFrameBody(v8.subarray(4))).toEqual({ ...frame, basisChunks: ids });
    expect(decodeFrameBody(v2.subarray(4))).toEqual({ ...frame, basisChunks: null });
  });

  it('refuses ids on a frame before the last and ids that are not whole 32-byte ids, either way', () => {
    expect(() => encodeMessage({ ...frame, last: false, basisChunks: ids })).toThrow(/signature.basisChunks: only on the last frame/);
    expect(() => encodeMessage({ ...frame, basisChunks: ids.subarray(1) })).toThrow(/signature.basisChunks: 63 bytes/);
    const notLast = encodeMessage({ ...frame, last: false, basisChunks: null });
    expect(decodeError(frameOf(Buffer.concat([notLast.subarray(4), Buffer.from([32]), ids.subarray(0, 32)]))).message).toMatch(/only on the last frame/);
    const last = encodeMessage({ ...frame, basisChunks: null });
    expect(decodeError(frameOf(Buffer.concat([last.subarray(4), Buffer.from([31]), ids.subarray(0, 31)]))).message).toMatch(/31 bytes, not a whole number/);
    expect(decodeError(frameOf(Buffer.concat([last.subarray(4), Buffer.from([64]), ids.subarray(0, 40)]))).message).toMatch(/signature.basisChunks/);
    expect(() => encodeMessage({ ...frame, basisChunks: Buffer.alloc(0) })).toThrow(/an empty list is not encoded/);
    expect(decodeError(frameOf(Buffer.concat([last.subarray(4), Buffer.from([0])]))).message).toMatch(/an empty list is not encoded/);
  });
});
