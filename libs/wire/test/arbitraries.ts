import fc from 'fast-check';
import { EntryType, ErrorCode, MessageType, PlanAction, type EntryMeta, type Message } from '../src/messages';

const SLASH = 0x2f;

/** Valid raw-byte names: 1..255 bytes, no NUL, no "/", not "." or "..". */
export const nameArb = fc
  .uint8Array({ min: 1, max: 255, minLength: 1, maxLength: 255 })
  .map((bytes) => Buffer.from(bytes.map((b) => (b === SLASH ? 0x5f : b))))
  .filter((name) => !name.equals(Buffer.from('.')) && !name.equals(Buffer.from('..')));

const shortNameArb = fc.uint8Array({ min: 1, max: 255, minLength: 1, maxLength: 12 }).map((bytes) => Buffer.from(bytes.map((b) => (b === SLASH || b === 0x2e ? 0x61 : b))));

export const absolutePathArb = fc.array(shortNameArb, { maxLength: 6 }).map((parts) => Buffer.from(`/${parts.map((p) => p.toString('latin1')).join('/')}`, 'latin1'));
export const relativePathArb = fc.array(shortNameArb, { minLength: 1, maxLength: 6 }).map((parts) => Buffer.from(parts.map((p) => p.toString('latin1')).join('/'), 'latin1'));

const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
const i64 = fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n });
const u32 = fc.nat({ max: 0xffff_ffff });
const safe = fc.maxSafeNat();
const text = (maxLength: number): fc.Arbitrary<string> => fc.string({ unit: 'binary', maxLength });
const idText = text(30);

export const entryArb: fc.Arbitrary<EntryMeta> = fc
  .record({
    name: nameArb,
    type: fc.constantFrom(...Object.values(EntryType)),
    mode: fc.nat({ max: 0o7777 }),
    uid: u32,
    gid: u32,
    mtimeNs: i64,
    ctimeNs: i64,
    ino: u64,
    dev: u64,
    size: u64,
    nlink: u32,
    target: fc.uint8Array({ min: 1, max: 255, minLength: 1, maxLength: 300 }),
    rdev: u64,
  })
  .map(({ target, ...rest }) => ({ ...rest, linkTarget: rest.type === EntryType.Symlink ? Buffer.from(target) : null }));

/** Entries with unique names, sorted by bytes, as a chunk requires. */
export const sortedEntriesArb = fc
  .uniqueArray(entryArb, { maxLength: 8, selector: (e) => e.name.toString('hex') })
  .map((entries) => [...entries].sort((a, b) => Buffer.compare(a.name, b.name)));

const sha256Arb = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b));
const bytesArb = (maxLength: number): fc.Arbitrary<Buffer> => fc.uint8Array({ maxLength }).map((b) => Buffer.from(b));

export const messageArb: fc.Arbitrary<Message> = fc.oneof(
  fc.record({
    type: fc.constant(MessageType.Hello),
    protocol: u32,
    role: fc.constantFrom('backup' as const, 'restore' as const),
    hostId: idText,
    runId: idText,
    credential: text(200),
    agentVersion: idText,
  }),
  fc.record({
    type: fc.constant(MessageType.Wait),
    position: u32,
    timers: fc.option(fc.record({ heartbeatMs: u32, idleTimeoutMs: u32 }), { nil: null }),
  }),
  fc.record({
    type: fc.constant(MessageType.Welcome),
    sessionId: idText,
    attempt: u32,
    committedDirs: fc.array(absolutePathArb, { maxLength: 5 }),
    maxFrameBytes: fc.integer({ min: 1, max: 16 * 1024 * 1024 }),
    chunkMaxEntries: u32,
    chunkMaxBytes: safe,
    heartbeatMs: u32,
    idleTimeoutMs: u32,
    creditBytes: safe,
    creditOps: safe,
    resumeDirs: fc.array(fc.record({ dir: absolutePathArb, after: nameArb }), { maxLength: 3 }),
    sentThrough: fc.option(fc.record({ dir: absolutePathArb, name: nameArb, offset: fc.option(fc.bigInt({ min: 0n, max: (1n << 62n) - 2n }), { nil: null }) }), { nil: null }),
    previousSnapshot: fc.option(fc.boolean(), { nil: null }),
  }),
  fc.constant({ type: MessageType.Heartbeat }),
  fc.record({ type: fc.constant(MessageType.Credit), bytes: safe, ops: safe }),
  fc.record({ type: fc.constant(MessageType.Chunk), seq: safe, dir: absolutePathArb, entries: sortedEntriesArb, last: fc.boolean() }),
  fc.record({ type: fc.constant(MessageType.PackedChunk), seq: safe, dir: absolutePathArb, entries: sortedEntriesArb, last: fc.boolean() }),
  fc.record({ type: fc.constant(MessageType.DirDigest), seq: safe, dir: absolutePathArb, digest: sha256Arb }),
  fc.record({ type: fc.constant(MessageType.DigestReply), seq: safe, reused: fc.boolean() }),
  fc.record({ type: fc.constant(MessageType.ChunkPlan), seq: safe, actions: fc.array(fc.constantFrom(PlanAction.Skip, PlanAction.Whole, PlanAction.Delta), { maxLength: 50 }) }),
  fc.oneof(
    fc.record({ type: fc.constant(MessageType.Signature), seq: safe, index: u32, data: bytesArb(3000), last: fc.boolean(), basisChunks: fc.constant(null) }),
    fc.record({
      type: fc.constant(MessageType.Signature),
      seq: safe,
      index: u32,
      data: bytesArb(3000),
      last: fc.constant(true),
      basisChunks: fc.array(sha256Arb, { minLength: 1, maxLength: 20 }).map((ids) => Buffer.concat(ids)),
    }),
  ),
  fc.record({ type: fc.constant(MessageType.Resend), seq: safe, index: u32 }),
  fc.record({ type: fc.constant(MessageType.ContentOffer), seq: safe, index: u32, size: u64, sha256: sha256Arb, chunks: fc.array(sha256Arb, { maxLength: 20 }) }),
  fc.oneof(
    fc.record({ type: fc.constant(MessageType.OfferReply), seq: safe, index: u32, known: fc.constant(true), heldChunks: fc.constant(0) }),
    fc.record({ type: fc.constant(MessageType.OfferReply), seq: safe, index: u32, known: fc.constant(false), heldChunks: u32 }),
  ),
  fc.record({ type: fc.constant(MessageType.FileData), seq: safe, index: u32, data: bytesArb(3000) }),
  fc.record({ type: fc.constant(MessageType.FileEnd), seq: safe, index: u32, size: u64, sha256: sha256Arb, error: fc.option(text(100), { nil: null }) }),
  fc.record({ type: fc.constant(MessageType.Committed), seq: safe, dir: absolutePathArb, dirComplete: fc.boolean() }),
  fc.constant({ type: MessageType.Finish }),
  fc.record({
    type: fc.constant(MessageType.Done),
    snapshotId: idText,
    rootTree: idText,
    publishedAt: idText,
    stats: fc.record({ files: safe, dirs: safe, bytes: safe, bytesReceived: safe, bytesStored: safe }),
  }),
  fc.record({ type: fc.constant(MessageType.RestoreRequest), snapshotId: idText, subPath: fc.oneof(fc.constant(Buffer.alloc(0)), absolutePathArb) }),
  fc
    .record({ ordinal: fc.integer({ min: 1, max: 1_000_000 }), path: relativePathArb, entry: entryArb, link: fc.option(fc.nat({ max: 1_000_000 }), { nil: null }) })
    .map(({ ordinal, path, entry, link }) => ({ type: MessageType.RestoreEntry, ordinal, path, entry, hardlinkOf: link === null ? null : link % ordinal })),
  fc.record({ type: fc.constant(MessageType.RestoreDone), entries: safe, bytes: safe }),
  fc.record({ type: fc.constant(MessageType.Error), code: fc.constantFrom(...Object.values(ErrorCode)), message: text(200) }),
);
