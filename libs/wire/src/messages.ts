/**
 * Agent <-> receiver protocol, version 1. Every message is one frame:
 *
 *   u32 big-endian length of what follows (type byte + payload) | u8 message type | payload
 *
 * Payloads are encoded field by field (unsigned LEB128 varints, length-prefixed byte strings), so names
 * stay raw bytes end to end. Decoding checks every length against the frame and the negotiated limits
 * before allocating. A malformed or oversized frame is a protocol error that ends that session only.
 *
 * Flow of a backup session (see DESIGN.md "One backup run"):
 *   agent  Hello ->                      <- Wait(position)*  (admission)
 *                                        <- Welcome(resume point, limits, initial credit)
 *   agent  Chunk(seq, dir, entries) ...  <- Signature(seq, index)* ChunkPlan(seq, per-entry action)  (pipelined)
 *   agent  FileData / FileEnd ...        <- Credit(bytes, ops)                     (as data becomes durable; the ops
 *                                                                                   of entries needing no content
 *                                                                                   right after their plan)
 *   agent  ContentOffer(seq, index) ->   <- OfferReply(seq, index, known, held)    (v2: large files, before data;
 *                                                                                   v3: held leading chunks)
 *                                        <- Resend(seq, index)                     (v2: a delta did not rebuild)
 *                                        <- Committed(seq, dir)                    (durable: journaled)
 *   agent  Finish ->                     <- Done(snapshot)
 *   either side: Heartbeat at a fixed interval; Error(code, message) then close.
 *
 * Flow of a restore session:
 *   agent  Hello(role restore) ->        <- Welcome
 *   agent  RestoreRequest(snapshot, subPath) ->
 *                                        <- RestoreEntry(path, entry), FileData, FileEnd ... RestoreDone
 */

/**
 * Version 2 adds delta transfer (PlanAction.Delta, Signature, Resend) and dedup before data (ContentOffer,
 * OfferReply). A receiver accepts Hello from MIN_PROTOCOL_VERSION up and uses none of that with a v1 agent;
 * v1 messages are encoded exactly as before.
 *
 * Version 3 resumes a large file from its stored part: OfferReply names the leading chunks the repository holds
 * (the agent sends only what follows), and Welcome says how far earlier attempts got (so the agent can count what
 * it sends again). Both are trailing fields, only ever sent to v3 agents; v2 messages are encoded exactly as before.
 *
 * Version 4 adds entry lists packed per chunk (PackedChunk instead of Chunk) and directory digests (DirDigest,
 * DigestReply): an agent names a directory by the digest of its whole subtree's metadata (dir-digest.ts) and
 * the receiver, when it stored that subtree before, reuses its tree instead of receiving the entries.
 *
 * Version 5 offers a large file by its first chunk first (a ContentOffer naming fewer chunks than its size has,
 * see ContentOfferMessage), also ahead of its turn while the content of files before it is still arriving. No
 * encoding changes.
 *
 * Version 6 tells the agent in Welcome whether the receiver holds a snapshot of the host to compare against
 * (previousSnapshot): when it does not (a host's first backup), no directory digest can match, and the agent sends
 * none: no probe is held back or waited for. A trailing field, only ever sent to v6 agents. Nor has the receiver
 * anything to plan against then: every regular file is planned Whole and every other entry Skip, so an agent may
 * send a chunk's content before its ChunkPlan arrives (the receiver reads each chunk before what follows it) and
 * check the plan when it comes.
 *
 * Version 7 names content by Berth's content hash (@berth/delta's content-hash: for more than one 1 MiB chunk, the
 * SHA-256 of the chunks' ids, not of the bytes) wherever a message carries a file's `sha256` (FileEnd, ContentOffer,
 * in backups and restores), and its deltas end with that hash. A receiver rebuilding a large file then names it from
 * the ids of the chunks it copied unchanged, without reading them. No encoding changes; with an older agent the
 * receiver keeps the SHA-256 of the bytes.
 *
 * Version 8 gives a delta the ids of its basis's content chunks (Signature's basisChunks, a trailing field of the
 * last frame, only ever sent to v8 agents): where the new version's chunk has the same id at the same offset, the
 * agent copies its blocks without hashing them (@berth/delta's basisChunks). The deltas themselves do not change.
 */
export const PROTOCOL_VERSION = 8;
/** First version with PackedChunk, DirDigest and DigestReply. */
export const DIR_DIGEST_PROTOCOL_VERSION = 4;
/** First version with first-chunk offers. */
export const FIRST_CHUNK_OFFER_PROTOCOL_VERSION = 5;
/** First version told in Welcome whether the receiver holds a previous snapshot of the host. */
export const PREVIOUS_SNAPSHOT_PROTOCOL_VERSION = 6;
/** First version whose content hashes are chunk-list hashes (see above). */
export const CONTENT_HASH_PROTOCOL_VERSION = 7;
/** First version given the basis's chunk ids with a signature. */
export const BASIS_CHUNKS_PROTOCOL_VERSION = 8;
export const MIN_PROTOCOL_VERSION = 1;
/** Hard ceiling on a frame, whatever is negotiated: 16 MiB. */
export const MAX_FRAME_BYTES = 16 * 1024 * 1024;
/** Default ceiling negotiated in Welcome: 4 MiB (data frames carry at most 1 MiB). */
export const DEFAULT_MAX_FRAME_BYTES = 4 * 1024 * 1024;
export const MAX_NAME_BYTES = 255;
export const MAX_PATH_BYTES = 64 * 1024;

export const MessageType = {
  Hello: 1,
  Wait: 2,
  Welcome: 3,
  Heartbeat: 4,
  Credit: 5,
  Chunk: 10,
  ChunkPlan: 11,
  FileData: 12,
  FileEnd: 13,
  Committed: 14,
  Signature: 15,
  Resend: 16,
  ContentOffer: 17,
  OfferReply: 18,
  PackedChunk: 19,
  Finish: 20,
  Done: 21,
  DirDigest: 22,
  DigestReply: 23,
  RestoreRequest: 30,
  RestoreEntry: 31,
  RestoreDone: 32,
  Error: 40,
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

export const EntryType = {
  File: 1,
  Dir: 2,
  Symlink: 3,
  Fifo: 4,
  CharDevice: 5,
  BlockDevice: 6,
  Socket: 7,
} as const;
export type EntryType = (typeof EntryType)[keyof typeof EntryType];

/** One directory entry as the agent saw it (lstat), never following symlinks. */
export interface EntryMeta {
  /** One path component, raw bytes: 1..255 bytes, no "/" and no NUL, not "." or "..". */
  readonly name: Buffer;
  readonly type: EntryType;
  /** Permission bits including setuid, setgid and sticky (mode & 0o7777). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** Nanoseconds since the epoch. */
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;
  readonly ino: bigint;
  readonly dev: bigint;
  /** Regular files: byte length. 0 for other types. */
  readonly size: bigint;
  /** Link count: a regular file with nlink > 1 is part of a hard-link group keyed by (dev, ino). */
  readonly nlink: number;
  /** Symlinks: the target, raw bytes, stored and never followed. */
  readonly linkTarget: Buffer | null;
  /** Device nodes: st_rdev. */
  readonly rdev: bigint;
}

export interface HelloMessage {
  readonly type: typeof MessageType.Hello;
  readonly protocol: number;
  readonly role: 'backup' | 'restore';
  readonly hostId: string;
  readonly runId: string;
  readonly credential: string;
  readonly agentVersion: string;
}

export interface WaitMessage {
  readonly type: typeof MessageType.Wait;
  /** 1-based place in the receiver's admission queue. */
  readonly position: number;
  /**
   * v2: the receiver's heartbeat interval and idle timeout, so a waiting agent keeps the session alive when the
   * receiver's idle timeout is below the agent's initial heartbeat. Null (and not encoded) for v1 agents.
   */
  readonly timers: { readonly heartbeatMs: number; readonly idleTimeoutMs: number } | null;
}

export interface WelcomeMessage {
  readonly type: typeof MessageType.Welcome;
  readonly sessionId: string;
  readonly attempt: number;
  /** Directories (absolute path bytes) already committed by earlier attempts of this run: skip them. */
  readonly committedDirs: readonly Buffer[];
  readonly maxFrameBytes: number;
  /** Entries per Chunk at most (the receiver rejects larger chunks). */
  readonly chunkMaxEntries: number;
  /** Encoded size of a Chunk message to aim for (metadata only, not file content); below maxFrameBytes. */
  readonly chunkMaxBytes: number;
  readonly heartbeatMs: number;
  readonly idleTimeoutMs: number;
  /** Initial credit; more arrives in Credit messages. */
  readonly creditBytes: number;
  readonly creditOps: number;
  /**
   * v2: directories of which earlier attempts committed some chunks but not the last: the agent sends only
   * entries named after `after` (its walk order is fixed). Always empty for v1 agents (and then not encoded).
   */
  readonly resumeDirs: readonly ResumeDir[];
  /**
   * v3: the furthest point in walk order whose content an earlier attempt of this run is known to have sent, or
   * null. The agent counts content it sends again up to there as re-sent. Always null for v1 and v2 agents.
   */
  readonly sentThrough: SentPosition | null;
  /**
   * v6: whether the receiver holds a published snapshot of this host, against which directory digests can match.
   * When false the agent sends no DirDigest (each would miss). Null when not told: always for v1 to v5 agents.
   */
  readonly previousSnapshot: boolean | null;
}

/** A point in the walk: `offset` bytes into the content of entry `name` of directory `dir` (raw bytes). */
export interface SentPosition {
  readonly dir: Buffer;
  readonly name: Buffer;
  /** Content bytes of that file sent from its start; null when it went as a delta (the whole file counts). */
  readonly offset: bigint | null;
}

/** A partly committed directory: resume after the entry named `after` (raw name bytes). */
export interface ResumeDir {
  readonly dir: Buffer;
  readonly after: Buffer;
}

export interface HeartbeatMessage {
  readonly type: typeof MessageType.Heartbeat;
}

export interface CreditMessage {
  readonly type: typeof MessageType.Credit;
  readonly bytes: number;
  readonly ops: number;
}

/** Part of one directory's entries, sorted by name bytes. A directory is sent after all its subdirectories. */
export interface ChunkMessage {
  readonly type: typeof MessageType.Chunk;
  readonly seq: number;
  /** Absolute path bytes of the directory ("/" for the snapshot root). */
  readonly dir: Buffer;
  readonly entries: readonly EntryMeta[];
  /** True on the directory's last chunk: the receiver then builds and commits its tree. */
  readonly last: boolean;
}

/**
 * v4: a Chunk whose entries travel packed (packed-entries.ts: prefix-coded names, fields against the previous
 * entry, deflated). Same rules and same answers as Chunk; decoded to the same entries.
 */
export interface PackedChunkMessage {
  readonly type: typeof MessageType.PackedChunk;
  readonly seq: number;
  readonly dir: Buffer;
  readonly entries: readonly EntryMeta[];
  readonly last: boolean;
}

/**
 * A PackedChunk as a sender may hand it to the encoder: its entries packed already (packEntryColumns), with their
 * count. On the wire it is the PackedChunk of the same entries, and it decodes to a PackedChunkMessage.
 */
export interface PrepackedChunkMessage {
  readonly type: typeof MessageType.PackedChunk;
  readonly seq: number;
  readonly dir: Buffer;
  readonly count: number;
  readonly packed: Buffer;
  readonly last: boolean;
}

/**
 * v4, agent to receiver, in place of a directory's chunks: the digest of the directory's whole subtree
 * (dir-digest.ts), taking a seq of its own. The receiver answers DigestReply. Reused: the directory is
 * committed as the stored tree with that digest (Committed(seq, dir, true) follows like any chunk's). Not
 * reused: the agent sends the directory's chunks as usual, later (probes are pipelined, their misses sent in
 * order, so a directory's chunks still follow those of its subdirectories).
 */
export interface DirDigestMessage {
  readonly type: typeof MessageType.DirDigest;
  readonly seq: number;
  readonly dir: Buffer;
  readonly digest: Buffer;
}

export interface DigestReplyMessage {
  readonly type: typeof MessageType.DigestReply;
  readonly seq: number;
  readonly reused: boolean;
}

export const PlanAction = {
  /** Nothing to send: not a regular file, or unchanged since the previous snapshot (quick check). */
  Skip: 0,
  /** Send the whole content with FileData frames, then FileEnd (v2: optionally a ContentOffer first). */
  Whole: 1,
  /**
   * v2: send a delta against the previous version, whose signature came in Signature frames before this plan:
   * FileData frames carry the encoded delta (libs/delta format, any cut), then FileEnd with the new file's
   * size and SHA-256. The receiver may answer Resend, and the file is then sent again whole.
   */
  Delta: 2,
} as const;
export type PlanAction = (typeof PlanAction)[keyof typeof PlanAction];

export interface ChunkPlanMessage {
  readonly type: typeof MessageType.ChunkPlan;
  readonly seq: number;
  /** One action per entry of the chunk, same order. */
  readonly actions: readonly PlanAction[];
}

/** Content of one entry, in order. For a backup: entry `index` of chunk `seq`; for a restore: seq 0, index = entry ordinal. */
export interface FileDataMessage {
  readonly type: typeof MessageType.FileData;
  readonly seq: number;
  readonly index: number;
  readonly data: Buffer;
}

export interface FileEndMessage {
  readonly type: typeof MessageType.FileEnd;
  readonly seq: number;
  readonly index: number;
  /** Bytes actually sent (a file may have changed size since lstat). */
  readonly size: bigint;
  /** SHA-256 of the content sent. */
  readonly sha256: Buffer;
  /** Set when the file could not be read completely; the receiver drops the entry and records the error. */
  readonly error: string | null;
}

/**
 * v2, receiver to agent, before the ChunkPlan that names entry `index` of chunk `seq` as Delta: the encoded
 * signature (libs/delta format) of the previous version, cut in frames; `last` on the final one.
 */
export interface SignatureMessage {
  readonly type: typeof MessageType.Signature;
  readonly seq: number;
  readonly index: number;
  readonly data: Buffer;
  readonly last: boolean;
  /**
   * v8, on the last frame only: the ids of the basis's full content chunks (1 MiB each), 32 bytes each, back to
   * back, never empty; null when not sent (an older agent, a frame before the last, a basis under one chunk).
   */
  readonly basisChunks: Buffer | null;
}

/**
 * v2, receiver to agent: the delta of entry `index` of chunk `seq` did not rebuild the file (a damaged basis or
 * a wrong delta). The agent sends that file once more, whole (FileData then FileEnd), between two other files.
 */
export interface ResendMessage {
  readonly type: typeof MessageType.Resend;
  readonly seq: number;
  readonly index: number;
}

/**
 * v2, agent to receiver, instead of the first FileData of a file planned Whole: the file's size, SHA-256 and
 * the SHA-256 of each of its 1 MiB chunks. The agent then waits for OfferReply: when the repository already
 * holds every chunk the agent sends FileEnd alone (no data), otherwise FileData frames as usual.
 *
 * v5, a first-chunk offer: `chunks` names only the first chunk of a file of more than one (`sha256` is zeros and
 * means nothing). It may name any file planned Whole whose content has not started, also while another file's
 * content is arriving (the agent offers the next file ahead). OfferReply then says heldChunks 0 when the
 * repository does not hold that chunk (the content follows in full, in its turn), or heldChunks 1: the agent
 * offers the file again in full, in its turn, and that offer is answered as above.
 */
export interface ContentOfferMessage {
  readonly type: typeof MessageType.ContentOffer;
  readonly seq: number;
  readonly index: number;
  readonly size: bigint;
  readonly sha256: Buffer;
  /** SHA-256 of each 1 MiB chunk of the content, in order (32 bytes each). */
  readonly chunks: readonly Buffer[];
}

export interface OfferReplyMessage {
  readonly type: typeof MessageType.OfferReply;
  readonly seq: number;
  readonly index: number;
  /** True: the repository holds this content, send FileEnd without data. */
  readonly known: boolean;
  /**
   * v3, only when `known` is false: how many leading chunks of the offer the repository holds (fewer than the
   * offer's chunks). The agent's FileData then carries the content from byte heldChunks * 1 MiB on, and FileEnd the
   * whole file's size and SHA-256: a file an earlier attempt sent in part resumes after its stored part. 0 for v2.
   */
  readonly heldChunks: number;
}

export interface CommittedMessage {
  readonly type: typeof MessageType.Committed;
  readonly seq: number;
  readonly dir: Buffer;
  /** True when this commit completed the directory (its tree is stored). */
  readonly dirComplete: boolean;
}

export interface FinishMessage {
  readonly type: typeof MessageType.Finish;
}

export interface SnapshotSummary {
  readonly files: number;
  readonly dirs: number;
  readonly bytes: number;
  readonly bytesReceived: number;
  readonly bytesStored: number;
}

export interface DoneMessage {
  readonly type: typeof MessageType.Done;
  readonly snapshotId: string;
  readonly rootTree: string;
  readonly publishedAt: string;
  readonly stats: SnapshotSummary;
}

export interface RestoreRequestMessage {
  readonly type: typeof MessageType.RestoreRequest;
  readonly snapshotId: string;
  /** Absolute path inside the snapshot, raw bytes; empty for the whole snapshot. */
  readonly subPath: Buffer;
}

/**
 * One entry of a restore, pre-order (a directory before its contents). `path` is relative to the snapshot
 * root (no leading "/"). Regular files are followed by their FileData frames and a FileEnd (index = ordinal).
 * `hardlinkOf` names an earlier ordinal of the same hard-link group: link instead of writing content.
 */
export interface RestoreEntryMessage {
  readonly type: typeof MessageType.RestoreEntry;
  readonly ordinal: number;
  readonly path: Buffer;
  readonly entry: EntryMeta;
  readonly hardlinkOf: number | null;
}

export interface RestoreDoneMessage {
  readonly type: typeof MessageType.RestoreDone;
  readonly entries: number;
  readonly bytes: number;
}

export const ErrorCode = {
  Protocol: 'protocol',
  Unauthorized: 'unauthorized',
  Forbidden: 'forbidden',
  BadPath: 'bad_path',
  FrameTooLarge: 'frame_too_large',
  Timeout: 'timeout',
  NotFound: 'not_found',
  Internal: 'internal',
  ShuttingDown: 'shutting_down',
  /** Local only: the peer went away (EOF, reset) without sending an Error frame. */
  ConnectionLost: 'connection_lost',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface ErrorMessage {
  readonly type: typeof MessageType.Error;
  readonly code: ErrorCode;
  readonly message: string;
}

export type Message =
  | HelloMessage
  | WaitMessage
  | WelcomeMessage
  | HeartbeatMessage
  | CreditMessage
  | ChunkMessage
  | PackedChunkMessage
  | DirDigestMessage
  | DigestReplyMessage
  | ChunkPlanMessage
  | FileDataMessage
  | FileEndMessage
  | CommittedMessage
  | SignatureMessage
  | ResendMessage
  | ContentOfferMessage
  | OfferReplyMessage
  | FinishMessage
  | DoneMessage
  | RestoreRequestMessage
  | RestoreEntryMessage
  | RestoreDoneMessage
  | ErrorMessage;

/** What the encoder takes: any message, or a PackedChunk whose entries are packed already. */
export type OutgoingMessage = Message | PrepackedChunkMessage;
