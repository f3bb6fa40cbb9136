/**
 * The repository's data model. Everything here is what the repository stores; nothing depends on
 * Postgres, so a snapshot can be listed, verified and restored from the repository alone.
 *
 * Layout (see README "Repository format"):
 *   config.json                      format version, created at
 *   lock                             pid, host and token of the process that has it open for writing
 *   packs/<xx>/<packId>.pack         append-only records: blobs (file content chunks) and trees
 *   packs/<xx>/<packId>.idx          index of a sealed pack (rebuilt by scanning when missing or damaged)
 *   snapshots/<hostId>/<snapshotId>.json   snapshot records, published by atomic rename
 *   runs/<runId>.journal             per-run journal of committed directories, for resume
 *   tmp/                             staging for atomic writes
 */

/** 32-byte SHA-256. Object ids are SHA-256 of the stored bytes (blob content or encoded tree). */
export type ObjectId = Buffer;

/**
 * File content is cut into chunks of at most this many bytes; each chunk is a blob. The size is part of the content
 * hash's definition (@berth/delta's content-hash), hence defined there.
 */
export { CONTENT_CHUNK_BYTES } from '@berth/delta';

export const TreeEntryType = {
  File: 1,
  Dir: 2,
  Symlink: 3,
  Fifo: 4,
  CharDevice: 5,
  BlockDevice: 6,
  Socket: 7,
} as const;
export type TreeEntryType = (typeof TreeEntryType)[keyof typeof TreeEntryType];

export interface FileContent {
  /**
   * The content hash (@berth/delta's chunkListHash: for more than one chunk, the SHA-256 of the chunk ids), or, for
   * content stored before protocol 7, the SHA-256 of the whole file (the two are the same for one chunk or none).
   */
  readonly sha256: Buffer;
  /** Blob ids of its chunks, in order; empty for an empty file. */
  readonly chunks: readonly ObjectId[];
}

/** One entry of a tree. Same metadata the agent reads with lstat. */
export interface TreeEntry {
  readonly name: Buffer;
  readonly type: TreeEntryType;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;
  readonly ino: bigint;
  readonly dev: bigint;
  readonly size: bigint;
  readonly nlink: number;
  readonly rdev: bigint;
  readonly linkTarget: Buffer | null;
  /** Dir: id of its tree. */
  readonly subtree: ObjectId | null;
  /** File: its content. */
  readonly content: FileContent | null;
}

/** A directory: entries sorted by name bytes (Buffer.compare), names unique. */
export interface Tree {
  readonly entries: readonly TreeEntry[];
}

export interface SnapshotRecord {
  readonly id: string;
  readonly hostId: string;
  readonly hostName: string;
  readonly runId: string;
  /** Hex id of the root tree ("/"). */
  readonly rootTree: string;
  /** Backed-up paths as configured. */
  readonly paths: readonly string[];
  readonly startedAt: string;
  readonly publishedAt: string;
  readonly stats: {
    readonly files: number;
    readonly dirs: number;
    readonly bytes: number;
    readonly bytesReceived: number;
    readonly bytesStored: number;
  };
}

/**
 * A directory made durable by one attempt of a run, or (with `partialThrough`) one committed chunk of a
 * directory not yet complete: then `tree` holds only that chunk's entries, `files`/`dirs`/`bytes` count only
 * them, and `partialThrough` is the name of the chunk's last entry (resume continues after it).
 */
/**
 * How far a run's attempts got sending content: `offset` bytes into entry `name` of directory `dir` (raw bytes), or
 * the whole entry when null (it went as a delta). Kept beside the journal so a later attempt can tell what it sends again.
 */
export interface SentMark {
  readonly dir: Buffer;
  readonly name: Buffer;
  readonly offset: bigint | null;
}

export interface JournalRecord {
  /** Absolute path bytes of the directory. */
  readonly dir: Buffer;
  readonly tree: ObjectId;
  /** Files and bytes below this directory (for the snapshot's stats). */
  readonly files: number;
  readonly dirs: number;
  readonly bytes: number;
  readonly partialThrough?: Buffer;
}
