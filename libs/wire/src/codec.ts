import { ByteReader } from './byte-reader';
import { ByteWriter } from './byte-writer';
import { DIR_DIGEST_BYTES } from './dir-digest';
import { MIN_ENTRY_BYTES, readEntry, writeEntry } from './entry-codec';
import { packEntries, unpackEntries } from './packed-entries';
import { WireError } from './errors';
import { FRAME_HEADER_BYTES, MAX_CREDENTIAL_BYTES, MAX_ID_BYTES, MAX_TEXT_BYTES, SHA256_BYTES } from './limits';
import {
  ErrorCode,
  MAX_FRAME_BYTES,
  MAX_NAME_BYTES,
  MAX_PATH_BYTES,
  MessageType,
  PlanAction,
  type ChunkMessage,
  type Message,
  type OfferReplyMessage,
  type OutgoingMessage,
  type PackedChunkMessage,
  type RestoreEntryMessage,
  type ResumeDir,
  type SentPosition,
  type SignatureMessage,
  type WaitMessage,
  type WelcomeMessage,
} from './messages';
import { validateAbsolutePath, validateName, validateRelativePath } from './validate';

const ROLES = ['backup', 'restore'] as const;
const ERROR_CODES = new Set<string>(Object.values(ErrorCode));
const U32_MAX = 0xffff_ffff;

/** Encodes one message as a whole frame: u32 BE length of (type + payload), u8 type, payload. */
export function encodeMessage(msg: OutgoingMessage): Buffer {
  const dataBytes =
    msg.type === MessageType.FileData ? msg.data.length : msg.type === MessageType.Signature ? msg.data.length + (msg.basisChunks?.length ?? 0) : 0;
  const w = new ByteWriter(64 + dataBytes, FRAME_HEADER_BYTES);
  w.u8(msg.type);
  writePayload(w, msg);
  const frameLength = w.size - FRAME_HEADER_BYTES;
  if (frameLength > MAX_FRAME_BYTES) {
    throw new WireError(ErrorCode.FrameTooLarge, `message type ${msg.type}: frame of ${frameLength} bytes exceeds ${MAX_FRAME_BYTES}`);
  }
  w.patchU32(0, frameLength);
  return w.finish();
}

/** FileData of at least this many bytes is framed without copying its data (see encodeMessageParts). */
export const ZERO_COPY_DATA_BYTES = 8 * 1024;

/**
 * One message as the buffers of one frame, to be written back to back. FileData's bytes are not copied into the
 * frame: the frame's head comes first, then `msg.data` itself, which the caller must not modify until written.
 * (Copying file content into every frame was a memory pass, and a fresh allocation, per byte sent.)
 */
export function encodeMessageParts(msg: OutgoingMessage): readonly Buffer[] {
  if (msg.type !== MessageType.FileData || msg.data.length < ZERO_COPY_DATA_BYTES) return [encodeMessage(msg)];
  if (msg.data.length > MAX_FRAME_BYTES) throw WireError.protocol(`data.data: ${msg.data.length} bytes exceed ${MAX_FRAME_BYTES}`);
  const w = new ByteWriter(32, FRAME_HEADER_BYTES);
  w.u8(msg.type);
  // The same payload as writePayload's FileData: seq, index, then bytes() = varint length and the raw data.
  w.varint(msg.seq, 'data.seq');
  w.varint(msg.index, 'data.index');
  w.varint(msg.data.length, 'data.data');
  const frameLength = w.size - FRAME_HEADER_BYTES + msg.data.length;
  if (frameLength > MAX_FRAME_BYTES) {
    throw new WireError(ErrorCode.FrameTooLarge, `message type ${msg.type}: frame of ${frameLength} bytes exceeds ${MAX_FRAME_BYTES}`);
  }
  w.patchU32(0, frameLength);
  return [w.finish(), msg.data];
}

function writePayload(w: ByteWriter, msg: OutgoingMessage): void {
  switch (msg.type) {
    case MessageType.Hello:
      w.varint(msg.protocol, 'hello.protocol');
      w.u8(ROLES.indexOf(msg.role));
      w.string(msg.hostId, MAX_ID_BYTES, 'hello.hostId');
      w.string(msg.runId, MAX_ID_BYTES, 'hello.runId');
      w.string(msg.credential, MAX_CREDENTIAL_BYTES, 'hello.credential');
      w.string(msg.agentVersion, MAX_ID_BYTES, 'hello.agentVersion');
      return;
    case MessageType.Wait:
      w.varint(msg.position, 'wait.position');
      // v1 Wait ends here; the timers are trailing fields sent only to v2 agents.
      if (msg.timers !== null) {
        w.varint(msg.timers.heartbeatMs, 'wait.heartbeatMs');
        w.varint(msg.timers.idleTimeoutMs, 'wait.idleTimeoutMs');
      }
      return;
    case MessageType.Welcome:
      writeWelcome(w, msg);
      return;
    case MessageType.Heartbeat:
    case MessageType.Finish:
      return;
    case MessageType.Credit:
      w.varint(msg.bytes, 'credit.bytes');
      w.varint(msg.ops, 'credit.ops');
      return;
    case MessageType.Chunk:
      w.varint(msg.seq, 'chunk.seq');
      w.bytes(msg.dir, MAX_PATH_BYTES, 'chunk.dir');
      w.varint(msg.entries.length, 'chunk.entries');
      for (const entry of msg.entries) writeEntry(w, entry);
      w.bool(msg.last);
      return;
    case MessageType.PackedChunk:
      w.varint(msg.seq, 'chunk.seq');
      w.bytes(msg.dir, MAX_PATH_BYTES, 'chunk.dir');
      // The same frame whether the sender packed the entries ahead (PrepackedChunkMessage) or hands them decoded.
      w.varint('packed' in msg ? msg.count : msg.entries.length, 'chunk.entries');
      w.bytes('packed' in msg ? msg.packed : packEntries(msg.entries), MAX_FRAME_BYTES, 'chunk.packed');
      w.bool(msg.last);
      return;
    case MessageType.DirDigest:
      w.varint(msg.seq, 'digest.seq');
      w.bytes(msg.dir, MAX_PATH_BYTES, 'digest.dir');
      if (msg.digest.length !== DIR_DIGEST_BYTES) throw WireError.protocol(`digest.digest: ${msg.digest.length} bytes, expected ${DIR_DIGEST_BYTES}`);
      w.raw(msg.digest);
      return;
    case MessageType.DigestReply:
      w.varint(msg.seq, 'digestReply.seq');
      w.bool(msg.reused);
      return;
    case MessageType.ChunkPlan:
      w.varint(msg.seq, 'plan.seq');
      w.varint(msg.actions.length, 'plan.actions');
      for (const action of msg.actions) w.u8(action);
      return;
    case MessageType.FileData:
      w.varint(msg.seq, 'data.seq');
      w.varint(msg.index, 'data.index');
      w.bytes(msg.data, MAX_FRAME_BYTES, 'data.data');
      return;
    case MessageType.FileEnd:
      w.varint(msg.seq, 'end.seq');
      w.varint(msg.index, 'end.index');
      w.bigVarint(msg.size, 'end.size');
      if (msg.sha256.length !== SHA256_BYTES) throw WireError.protocol(`end.sha256: ${msg.sha256.length} bytes, expected ${SHA256_BYTES}`);
      w.raw(msg.sha256);
      writeOptionalString(w, msg.error, 'end.error');
      return;
    case MessageType.Signature:
      w.varint(msg.seq, 'signature.seq');
      w.varint(msg.index, 'signature.index');
      w.bytes(msg.data, MAX_FRAME_BYTES, 'signature.data');
      w.bool(msg.last);
      if (msg.basisChunks !== null) {
        if (!msg.last) throw WireError.protocol('signature.basisChunks: only on the last frame');
        if (msg.basisChunks.length === 0) throw WireError.protocol('signature.basisChunks: an empty list is not encoded');
        if (msg.basisChunks.length % SHA256_BYTES !== 0) throw WireError.protocol(`signature.basisChunks: ${msg.basisChunks.length} bytes, not a whole number of ${SHA256_BYTES}-byte ids`);
        w.bytes(msg.basisChunks, MAX_FRAME_BYTES, 'signature.basisChunks');
      }
      return;
    case MessageType.Resend:
      w.varint(msg.seq, 'resend.seq');
      w.varint(msg.index, 'resend.index');
      return;
    case MessageType.ContentOffer:
      w.varint(msg.seq, 'offer.seq');
      w.varint(msg.index, 'offer.index');
      w.bigVarint(msg.size, 'offer.size');
      writeSha256(w, msg.sha256, 'offer.sha256');
      w.varint(msg.chunks.length, 'offer.chunks');
      for (const chunk of msg.chunks) writeSha256(w, chunk, 'offer.chunk');
      return;
    case MessageType.OfferReply:
      w.varint(msg.seq, 'reply.seq');
      w.varint(msg.index, 'reply.index');
      w.bool(msg.known);
      // v2 OfferReply ends here: held chunks are a trailing field, only ever sent to v3 agents.
      if (msg.heldChunks !== 0) {
        if (msg.known) throw WireError.protocol('reply.heldChunks: only for content the repository does not hold whole');
        w.varint(msg.heldChunks, 'reply.heldChunks');
      }
      return;
    case MessageType.Committed:
      w.varint(msg.seq, 'committed.seq');
      w.bytes(msg.dir, MAX_PATH_BYTES, 'committed.dir');
      w.bool(msg.dirComplete);
      return;
    case MessageType.Done:
      w.string(msg.snapshotId, MAX_ID_BYTES, 'done.snapshotId');
      w.string(msg.rootTree, MAX_ID_BYTES, 'done.rootTree');
      w.string(msg.publishedAt, MAX_ID_BYTES, 'done.publishedAt');
      w.varint(msg.stats.files, 'done.files');
      w.varint(msg.stats.dirs, 'done.dirs');
      w.varint(msg.stats.bytes, 'done.bytes');
      w.varint(msg.stats.bytesReceived, 'done.bytesReceived');
      w.varint(msg.stats.bytesStored, 'done.bytesStored');
      return;
    case MessageType.RestoreRequest:
      w.string(msg.snapshotId, MAX_ID_BYTES, 'restore.snapshotId');
      w.bytes(msg.subPath, MAX_PATH_BYTES, 'restore.subPath');
      return;
    case MessageType.RestoreEntry:
      writeRestoreEntry(w, msg);
      return;
    case MessageType.RestoreDone:
      w.varint(msg.entries, 'restoreDone.entries');
      w.varint(msg.bytes, 'restoreDone.bytes');
      return;
    case MessageType.Error:
      w.string(msg.code, MAX_ID_BYTES, 'error.code');
      w.string(msg.message, MAX_TEXT_BYTES, 'error.message');
      return;
    default:
      throw WireError.protocol(`cannot encode message type ${(msg as { type: unknown }).type as string}`);
  }
}

function writeWelcome(w: ByteWriter, msg: WelcomeMessage): void {
  w.string(msg.sessionId, MAX_ID_BYTES, 'welcome.sessionId');
  w.varint(msg.attempt, 'welcome.attempt');
  w.varint(msg.committedDirs.length, 'welcome.committedDirs');
  for (const dir of msg.committedDirs) w.bytes(dir, MAX_PATH_BYTES, 'welcome.committedDir');
  w.varint(msg.maxFrameBytes, 'welcome.maxFrameBytes');
  w.varint(msg.chunkMaxEntries, 'welcome.chunkMaxEntries');
  w.varint(msg.chunkMaxBytes, 'welcome.chunkMaxBytes');
  w.varint(msg.heartbeatMs, 'welcome.heartbeatMs');
  w.varint(msg.idleTimeoutMs, 'welcome.idleTimeoutMs');
  w.varint(msg.creditBytes, 'welcome.creditBytes');
  w.varint(msg.creditOps, 'welcome.creditOps');
  // v1 Welcome ends here: resume points inside directories are trailing fields, only ever sent to v2 agents, and
  // v2 Welcome ends after them: where earlier attempts got is sent to v3 agents only (resumeDirs then always,
  // possibly empty), and v3 to v5 Welcome ends after that. Whether a previous snapshot is held is sent to v6 agents
  // only, after sentThrough (then always: an empty directory when there is none).
  if (msg.resumeDirs.length === 0 && msg.sentThrough === null && msg.previousSnapshot === null) return;
  w.varint(msg.resumeDirs.length, 'welcome.resumeDirs');
  for (const { dir, after } of msg.resumeDirs) {
    w.bytes(dir, MAX_PATH_BYTES, 'welcome.resumeDir');
    w.bytes(after, MAX_NAME_BYTES, 'welcome.resumeAfter');
  }
  if (msg.sentThrough === null) {
    if (msg.previousSnapshot === null) return;
    w.bytes(Buffer.alloc(0), MAX_PATH_BYTES, 'welcome.sentThroughDir');
  } else {
    const { dir, name, offset } = msg.sentThrough;
    // An empty directory stands for "no sentThrough" (v6): a real one is an absolute path.
    if (dir.length === 0) throw WireError.protocol('welcome.sentThroughDir: empty');
    w.bytes(dir, MAX_PATH_BYTES, 'welcome.sentThroughDir');
    w.bytes(name, MAX_NAME_BYTES, 'welcome.sentThroughName');
    // 0: a delta (the whole file), else 1 + the content offset.
    w.bigVarint(offset === null ? 0n : offset + 1n, 'welcome.sentThroughOffset');
  }
  if (msg.previousSnapshot !== null) w.bool(msg.previousSnapshot);
}

function writeRestoreEntry(w: ByteWriter, msg: RestoreEntryMessage): void {
  w.varint(msg.ordinal, 'restoreEntry.ordinal');
  w.bytes(msg.path, MAX_PATH_BYTES, 'restoreEntry.path');
  writeEntry(w, msg.entry);
  if (msg.hardlinkOf === null) {
    w.u8(0);
  } else {
    w.u8(1);
    w.varint(msg.hardlinkOf, 'restoreEntry.hardlinkOf');
  }
}

function writeSha256(w: ByteWriter, value: Buffer, field: string): void {
  if (value.length !== SHA256_BYTES) throw WireError.protocol(`${field}: ${value.length} bytes, expected ${SHA256_BYTES}`);
  w.raw(value);
}

function writeOptionalString(w: ByteWriter, value: string | null, field: string): void {
  if (value === null) {
    w.u8(0);
  } else {
    w.u8(1);
    w.string(value, MAX_TEXT_BYTES, field);
  }
}

/** Decodes the body of one frame (type byte + payload), validating every field. Throws WireError. */
export function decodeFrameBody(body: Buffer): Message {
  const r = new ByteReader(body);
  const type = r.u8('type');
  const msg = readPayload(r, type);
  r.end(`message type ${type}`);
  return msg;
}

function readPayload(r: ByteReader, type: number): Message {
  switch (type) {
    case MessageType.Hello: {
      const protocol = r.varint('hello.protocol', U32_MAX);
      const roleByte = r.u8('hello.role');
      const role = ROLES[roleByte];
      if (role === undefined) throw WireError.protocol(`hello.role: unknown role ${roleByte}`);
      return {
        type,
        protocol,
        role,
        hostId: r.string(MAX_ID_BYTES, 'hello.hostId'),
        runId: r.string(MAX_ID_BYTES, 'hello.runId'),
        credential: r.string(MAX_CREDENTIAL_BYTES, 'hello.credential'),
        agentVersion: r.string(MAX_ID_BYTES, 'hello.agentVersion'),
      };
    }
    case MessageType.Wait:
      return readWait(r);
    case MessageType.Welcome:
      return readWelcome(r);
    case MessageType.Heartbeat:
      return { type };
    case MessageType.Finish:
      return { type };
    case MessageType.Credit:
      return { type, bytes: r.varint('credit.bytes'), ops: r.varint('credit.ops') };
    case MessageType.Chunk:
      return readChunk(r);
    case MessageType.PackedChunk:
      return readPackedChunk(r);
    case MessageType.DirDigest: {
      const seq = r.varint('digest.seq');
      const dir = r.bytes(MAX_PATH_BYTES, 'digest.dir');
      validateAbsolutePath(dir);
      return { type, seq, dir, digest: Buffer.from(r.raw(DIR_DIGEST_BYTES, 'digest.digest')) };
    }
    case MessageType.DigestReply:
      return { type, seq: r.varint('digestReply.seq'), reused: r.bool('digestReply.reused') };
    case MessageType.ChunkPlan: {
      const seq = r.varint('plan.seq');
      const count = r.count(1, 'plan.actions');
      const actions: PlanAction[] = [];
      for (let i = 0; i < count; i++) actions.push(readPlanAction(r));
      return { type, seq, actions };
    }
    case MessageType.FileData:
      return { type, seq: r.varint('data.seq'), index: r.varint('data.index', U32_MAX), data: r.bytesView(MAX_FRAME_BYTES, 'data.data') };
    case MessageType.FileEnd:
      return {
        type,
        seq: r.varint('end.seq'),
        index: r.varint('end.index', U32_MAX),
        size: r.bigVarint('end.size'),
        sha256: Buffer.from(r.raw(SHA256_BYTES, 'end.sha256')),
        error: r.bool('end.error flag') ? r.string(MAX_TEXT_BYTES, 'end.error') : null,
      };
    case MessageType.Signature:
      return readSignature(r);
    case MessageType.Resend:
      return { type, seq: r.varint('resend.seq'), index: r.varint('resend.index', U32_MAX) };
    case MessageType.ContentOffer: {
      const seq = r.varint('offer.seq');
      const index = r.varint('offer.index', U32_MAX);
      const size = r.bigVarint('offer.size');
      const sha256 = Buffer.from(r.raw(SHA256_BYTES, 'offer.sha256'));
      const count = r.count(SHA256_BYTES, 'offer.chunks');
      const chunks: Buffer[] = [];
      for (let i = 0; i < count; i++) chunks.push(Buffer.from(r.raw(SHA256_BYTES, 'offer.chunk')));
      return { type, seq, index, size, sha256, chunks };
    }
    case MessageType.OfferReply:
      return readOfferReply(r);
    case MessageType.Committed: {
      const seq = r.varint('committed.seq');
      const dir = r.bytes(MAX_PATH_BYTES, 'committed.dir');
      validateAbsolutePath(dir);
      return { type, seq, dir, dirComplete: r.bool('committed.dirComplete') };
    }
    case MessageType.Done:
      return {
        type,
        snapshotId: r.string(MAX_ID_BYTES, 'done.snapshotId'),
        rootTree: r.string(MAX_ID_BYTES, 'done.rootTree'),
        publishedAt: r.string(MAX_ID_BYTES, 'done.publishedAt'),
        stats: {
          files: r.varint('done.files'),
          dirs: r.varint('done.dirs'),
          bytes: r.varint('done.bytes'),
          bytesReceived: r.varint('done.bytesReceived'),
          bytesStored: r.varint('done.bytesStored'),
        },
      };
    case MessageType.RestoreRequest: {
      const snapshotId = r.string(MAX_ID_BYTES, 'restore.snapshotId');
      const subPath = r.bytes(MAX_PATH_BYTES, 'restore.subPath');
      if (subPath.length > 0) validateAbsolutePath(subPath);
      return { type, snapshotId, subPath };
    }
    case MessageType.RestoreEntry:
      return readRestoreEntry(r);
    case MessageType.RestoreDone:
      return { type, entries: r.varint('restoreDone.entries'), bytes: r.varint('restoreDone.bytes') };
    case MessageType.Error: {
      const code = r.string(MAX_ID_BYTES, 'error.code');
      if (!ERROR_CODES.has(code)) throw WireError.protocol(`error.code: unknown code ${JSON.stringify(code)}`);
      return { type, code: code as ErrorCode, message: r.string(MAX_TEXT_BYTES, 'error.message') };
    }
    default:
      throw WireError.protocol(`unknown message type ${type}`);
  }
}

function readPlanAction(r: ByteReader): PlanAction {
  const action = r.u8('plan.action');
  if (action !== PlanAction.Skip && action !== PlanAction.Whole && action !== PlanAction.Delta) throw WireError.protocol(`plan.action: unknown action ${action}`);
  return action;
}

function readWait(r: ByteReader): WaitMessage {
  const position = r.varint('wait.position', U32_MAX);
  if (r.remaining === 0) return { type: MessageType.Wait, position, timers: null };
  const heartbeatMs = r.varint('wait.heartbeatMs', U32_MAX);
  const idleTimeoutMs = r.varint('wait.idleTimeoutMs', U32_MAX);
  return { type: MessageType.Wait, position, timers: { heartbeatMs, idleTimeoutMs } };
}

function readWelcome(r: ByteReader): WelcomeMessage {
  const sessionId = r.string(MAX_ID_BYTES, 'welcome.sessionId');
  const attempt = r.varint('welcome.attempt', U32_MAX);
  const count = r.count(2, 'welcome.committedDirs');
  const committedDirs: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const dir = r.bytes(MAX_PATH_BYTES, 'welcome.committedDir');
    validateAbsolutePath(dir);
    committedDirs.push(dir);
  }
  const maxFrameBytes = r.varint('welcome.maxFrameBytes', MAX_FRAME_BYTES);
  return {
    type: MessageType.Welcome,
    sessionId,
    attempt,
    committedDirs,
    maxFrameBytes,
    chunkMaxEntries: r.varint('welcome.chunkMaxEntries', U32_MAX),
    chunkMaxBytes: r.varint('welcome.chunkMaxBytes'),
    heartbeatMs: r.varint('welcome.heartbeatMs', U32_MAX),
    idleTimeoutMs: r.varint('welcome.idleTimeoutMs', U32_MAX),
    creditBytes: r.varint('welcome.creditBytes'),
    creditOps: r.varint('welcome.creditOps'),
    resumeDirs: readResumeDirs(r),
    ...readSentThroughAndPrevious(r),
  };
}

function readResumeDirs(r: ByteReader): ResumeDir[] {
  if (r.remaining === 0) return [];
  const count = r.count(4, 'welcome.resumeDirs');
  // An empty list is encoded only in front of sentThrough (v3).
  if (count === 0 && r.remaining === 0) throw WireError.protocol('welcome.resumeDirs: an empty list is not encoded');
  const resumeDirs: ResumeDir[] = [];
  for (let i = 0; i < count; i++) {
    const dir = r.bytes(MAX_PATH_BYTES, 'welcome.resumeDir');
    validateAbsolutePath(dir);
    const after = r.bytes(MAX_NAME_BYTES, 'welcome.resumeAfter');
    validateName(after);
    resumeDirs.push({ dir, after });
  }
  return resumeDirs;
}

function readSentThroughAndPrevious(r: ByteReader): { sentThrough: SentPosition | null; previousSnapshot: boolean | null } {
  if (r.remaining === 0) return { sentThrough: null, previousSnapshot: null };
  const dir = r.bytes(MAX_PATH_BYTES, 'welcome.sentThroughDir');
  let sentThrough: SentPosition | null = null;
  if (dir.length === 0) {
    // v6: no sentThrough, encoded only in front of previousSnapshot.
    if (r.remaining === 0) throw WireError.protocol('welcome.sentThroughDir: an empty directory is not encoded without previousSnapshot');
  } else {
    validateAbsolutePath(dir);
    const name = r.bytes(MAX_NAME_BYTES, 'welcome.sentThroughName');
    validateName(name);
    const encoded = r.bigVarint('welcome.sentThroughOffset');
    sentThrough = { dir, name, offset: encoded === 0n ? null : encoded - 1n };
  }
  return { sentThrough, previousSnapshot: r.remaining === 0 ? null : r.bool('welcome.previousSnapshot') };
}

function readOfferReply(r: ByteReader): OfferReplyMessage {
  const seq = r.varint('reply.seq');
  const index = r.varint('reply.index', U32_MAX);
  const known = r.bool('reply.known');
  if (r.remaining === 0) return { type: MessageType.OfferReply, seq, index, known, heldChunks: 0 };
  if (known) throw WireError.protocol('reply.heldChunks: only for content the repository does not hold whole');
  const heldChunks = r.varint('reply.heldChunks', U32_MAX);
  if (heldChunks === 0) throw WireError.protocol('reply.heldChunks: 0 is not encoded');
  return { type: MessageType.OfferReply, seq, index, known, heldChunks };
}

/** A chunk's directory must be a normalized absolute path and its entries strictly sorted by name bytes. */
function readChunk(r: ByteReader): ChunkMessage {
  const seq = r.varint('chunk.seq');
  const dir = r.bytes(MAX_PATH_BYTES, 'chunk.dir');
  validateAbsolutePath(dir);
  const count = r.count(MIN_ENTRY_BYTES, 'chunk.entries');
  const entries = [];
  for (let i = 0; i < count; i++) {
    const entry = readEntry(r);
    const previous = entries[i - 1];
    if (previous !== undefined && Buffer.compare(previous.name, entry.name) >= 0) {
      throw WireError.protocol(`chunk ${seq}: entry ${i} is not after entry ${i - 1} in name order (duplicate or unsorted)`);
    }
    entries.push(entry);
  }
  return { type: MessageType.Chunk, seq, dir, entries, last: r.bool('chunk.last') };
}

/** Signature: basisChunks is a trailing field (v8), on the last frame only, a whole number of ids. */
function readSignature(r: ByteReader): SignatureMessage {
  const seq = r.varint('signature.seq');
  const index = r.varint('signature.index', U32_MAX);
  const data = r.bytes(MAX_FRAME_BYTES, 'signature.data');
  const last = r.bool('signature.last');
  if (r.remaining === 0) return { type: MessageType.Signature, seq, index, data, last, basisChunks: null };
  if (!last) throw WireError.protocol('signature.basisChunks: only on the last frame');
  const basisChunks = r.bytes(MAX_FRAME_BYTES, 'signature.basisChunks');
  if (basisChunks.length === 0) throw WireError.protocol('signature.basisChunks: an empty list is not encoded');
  if (basisChunks.length % SHA256_BYTES !== 0) throw WireError.protocol(`signature.basisChunks: ${basisChunks.length} bytes, not a whole number of ${SHA256_BYTES}-byte ids`);
  return { type: MessageType.Signature, seq, index, data, last, basisChunks };
}

function readPackedChunk(r: ByteReader): PackedChunkMessage {
  const seq = r.varint('chunk.seq');
  const dir = r.bytes(MAX_PATH_BYTES, 'chunk.dir');
  validateAbsolutePath(dir);
  const count = r.varint('chunk.entries', MAX_FRAME_BYTES);
  const entries = unpackEntries(r.bytesView(MAX_FRAME_BYTES, 'chunk.packed'), count);
  return { type: MessageType.PackedChunk, seq, dir, entries, last: r.bool('chunk.last') };
}

function readRestoreEntry(r: ByteReader): RestoreEntryMessage {
  const ordinal = r.varint('restoreEntry.ordinal');
  const path = r.bytes(MAX_PATH_BYTES, 'restoreEntry.path');
  validateRelativePath(path);
  const entry = readEntry(r);
  const hardlinkOf = r.bool('restoreEntry.hardlinkOf flag') ? r.varint('restoreEntry.hardlinkOf') : null;
  if (hardlinkOf !== null && hardlinkOf >= ordinal) throw WireError.protocol(`restoreEntry ${ordinal}: hardlinkOf ${hardlinkOf} is not an earlier entry`);
  return { type: MessageType.RestoreEntry, ordinal, path, entry, hardlinkOf };
}
