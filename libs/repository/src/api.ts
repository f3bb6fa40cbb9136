import { type RepositoryDamage } from './damage-record';
import { type EncodedEntries, type TreeIndex } from './tree/tree-codec';
import { type FileContent, type JournalRecord, type ObjectId, type SentMark, type SnapshotRecord, type Tree, type TreeEntry } from './model';

/**
 * What the receiver and restore tooling use. Implemented by `Repository.open(dir)`.
 *
 * Durability contract: `put*` return once the bytes are handed to the current pack (buffered); nothing is
 * durable until `flush()` resolves (pack data fdatasync'd, index written and fsync'd, directory fsync'd).
 * The receiver acknowledges a directory only after flush() and journal append have both resolved.
 */
export interface RepositoryApi {
  readonly root: string;
  /** True when a blob or tree with this id is stored (durable or pending in the current pack). */
  has(id: ObjectId): boolean;
  /** The length of a stored blob's bytes (not a tree's), or null when no blob has that id. */
  blobLength(id: ObjectId): number | null;
  /** Whether every one of `ids` is stored (check a stored file's chunks before carrying its entry over). */
  hasAll(ids: readonly ObjectId[]): boolean;
  /**
   * Null unless a crash recovery may have lost objects that kept trees refer to (see Repository.damage): then
   * reuse of stored entries must check their objects, and caches built before it must not be trusted.
   */
  readonly damage: RepositoryDamage | null;
  /** Whether every object reachable from the tree `root` is stored (looked up, not read; trees are read). */
  subtreeStored(root: ObjectId): Promise<boolean>;
  /**
   * Stores a content chunk (at most CONTENT_CHUNK_BYTES) unless present; returns its id and whether it was new.
   * The chunk is written from `data` itself, later (unless it is tiny): never modify the buffer afterwards.
   */
  putBlob(data: Buffer): Promise<{ id: ObjectId; stored: boolean }>;
  /** Encodes, validates (sorted, unique, safe names) and stores a tree unless present. */
  putTree(tree: Tree): Promise<{ id: ObjectId; stored: boolean }>;
  /** The same for a tree whose entries are already encoded in runs (joined in the order given, not re-encoded). */
  putTreeParts(parts: readonly EncodedEntries[]): Promise<{ id: ObjectId; stored: boolean }>;
  /** Makes everything put so far durable. Concurrent callers share one fsync (group commit). */
  flush(): Promise<void>;
  /** A blob's bytes, checked against its id unless `verify` is false (see ReadOptions). */
  readBlob(id: ObjectId, options?: ReadOptions): Promise<Buffer>;
  readTree(id: ObjectId): Promise<Tree>;
  /** A tree checked as readTree checks it, its entries decoded only when asked for (see TreeIndex). */
  readTreeIndex(id: ObjectId): Promise<TreeIndex>;

  /** Publishes atomically: after it resolves the snapshot is visible and survives a crash; before, nothing is. */
  publishSnapshot(record: SnapshotRecord): Promise<void>;
  listSnapshots(hostId: string): Promise<SnapshotRecord[]>;
  /** Newest published snapshot of a host, or null. */
  latestSnapshot(hostId: string): Promise<SnapshotRecord | null>;
  /** Finds a snapshot by id in any host's folder, or null. */
  findSnapshot(snapshotId: string): Promise<SnapshotRecord | null>;

  /** Appends durably (fsync) to the run's journal. */
  appendJournal(runId: string, records: readonly JournalRecord[]): Promise<void>;
  /** All records of the run's journal; a torn last record (crash mid-append) is ignored and truncated. */
  readJournal(runId: string): Promise<JournalRecord[]>;
  /** Removes the journal (and the sent mark) once the run's snapshot is published. */
  removeJournal(runId: string): Promise<void>;
  /** How far the run's attempts got sending content, or null when unknown (none recorded, or damaged). */
  readSentMark(runId: string): Promise<SentMark | null>;
  /** Replaces the run's sent mark atomically (and durably). */
  writeSentMark(runId: string, mark: SentMark): Promise<void>;

  /** Reads every object reachable from the snapshot and checks its hash; returns problems found. */
  verifySnapshot(snapshotId: string): Promise<{ objects: number; bytes: number; problems: string[] }>;
  close(): Promise<void>;

  /** Stores one file's content arriving in pieces of any size: cuts CONTENT_CHUNK_BYTES chunks, hashes the whole file. */
  createContentWriter(): FileContentWriter;
  /** A file's chunks in order, each verified against its id unless `verify` is false (see ReadOptions). */
  readFileContent(content: FileContent, options?: ReadOptions): AsyncIterable<Buffer>;
  /** Every entry below a tree, pre-order (a directory before its contents), with paths relative to it. */
  walkTree(rootId: ObjectId): AsyncIterable<WalkItem>;
  /** The entry at a path below the root ("/" gives a synthetic directory entry for the root), or null. */
  resolvePath(rootId: ObjectId, path: Buffer): Promise<TreeEntry | null>;
}

export interface ReadOptions {
  /**
   * Check the bytes against their id (SHA-256), default true. Only a caller that checks what it makes of them end
   * to end may skip it: a delta's basis, whose rebuilt file must match the sender's SHA-256 or is asked for again.
   */
  readonly verify?: boolean;
  /**
   * Memory to read the object into when it fits (the result is then a view of its start), instead of a new
   * buffer: a caller streaming large content through one buffer allocates nothing per chunk. An object that does
   * not fit is read into a new buffer as usual.
   */
  readonly into?: Uint8Array;
}

export interface FileContentWriter {
  /** Adds the next bytes of the file. The buffer is kept (not copied) until written to disk: never modify it. */
  write(data: Buffer): Promise<void>;
  /** Stores what is left and returns the file's content; the caller compares `content.sha256` with the sender's. */
  finish(): Promise<WrittenContent>;
}

export interface WrittenContent {
  readonly content: FileContent;
  readonly size: bigint;
  /** Bytes of chunks new to the repository (the rest were deduplicated). */
  readonly bytesStored: number;
}

export interface WalkItem {
  /** Path relative to the walked tree, components joined by '/', raw bytes. */
  readonly path: Buffer;
  readonly entry: TreeEntry;
  /** 1 for entries of the walked tree itself. */
  readonly depth: number;
}
