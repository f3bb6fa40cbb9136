import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { type FileContentWriter, type ReadOptions, type RepositoryApi, type WalkItem } from './api';
import { ContentWriter } from './content-writer';
import { readDamage, recordDamage, type RepositoryDamage } from './damage-record';
import { fsyncDir } from './durable-fs';
import { RepositoryCorruptError, RepositoryFormatError, RepositoryInputError, RepositoryNotFoundError, RepositoryNotWritableError } from './errors';
import { objectIdHex, parseObjectId, sha256, sha256OfParts } from './ids';
import { JournalStore } from './journal/journal-store';
import { SentMarkStore } from './journal/sent-mark';
import { RepositoryLock } from './lock';
import { CONTENT_CHUNK_BYTES, type FileContent, type JournalRecord, type ObjectId, type SentMark, type SnapshotRecord, type Tree, type TreeEntry } from './model';
import { ObjectKind } from './pack/pack-format';
import { PackStore, type RecoveryReport } from './pack/pack-store';
import { clearTmp, createLayout, ensureLayoutDirs, type Layout, layoutOf, readConfig, upgradeConfig } from './repository-layout';
import { SnapshotStore } from './snapshot-store';
import { showBytes } from './tree/names';
import { decodeTree, decodeTreeIndex, type EncodedEntries, encodedTreeParts, encodeTree, storedEntryOrigin, type TreeIndex } from './tree/tree-codec';
import { readFileContent, resolvePath, walkTree } from './tree/tree-walk';
import { verifyTree } from './verify';

export interface RepositoryOptions {
  /** Open without the lock and refuse every write: for inspecting a repository another process owns. */
  readonly readOnly?: boolean;
  /** A pack is sealed and a new one started past this size. Default 64 MiB. */
  readonly packTargetBytes?: number;
  /** put* wait while more than this many appended bytes are not yet written to the pack. Default 64 MiB. */
  readonly maxUnwrittenBytes?: number;
  /** A commit starts in the background every this many bytes appended to a pack (PackStoreOptions). Default 8 MiB. */
  readonly syncBehindBytes?: number;
  /** And this long after the last one, with 1 MiB or more appended since (PackStoreOptions). Default 100 ms. */
  readonly syncBehindMs?: number;
}

const DEFAULT_PACK_TARGET_BYTES = 64 * 1024 * 1024;
const DEFAULT_MAX_UNWRITTEN_BYTES = 64 * 1024 * 1024;
/**
 * As PostgreSQL's backend_flush_after does for its writes: the last commit of a 64 MiB file took about 23 ms here
 * without it (fast disk; far longer on a slow one), and a run's end waits for that commit.
 */
const DEFAULT_SYNC_BEHIND_BYTES = 8 * 1024 * 1024;
/**
 * At a 100 Mbit/s link's pace 8 MiB take 0.7 s to arrive, and a file that ended between two commits behind left up
 * to that much to its last one; every 100 ms it is about 1.2 MiB (measured: libs/repository/test/bench/sync-behind.ts).
 */
const DEFAULT_SYNC_BEHIND_MS = 100;

export class Repository implements RepositoryApi {
  private closed = false;
  /** Runs of encoded entries whose children putTreeParts found stored. */
  private readonly checkedRuns = new WeakSet<EncodedEntries>();
  /** Tags the entries of trees read from this repository (see storedEntryOrigin). */
  private readonly origin = {};
  private damageRecord: RepositoryDamage | null = null;
  /** Trees subtreeStored found complete. */
  private readonly completeTrees = new Set<string>();

  private constructor(
    private readonly layout: Layout,
    private readonly readOnly: boolean,
    private readonly lock: RepositoryLock | null,
    private readonly packs: PackStore,
    private readonly snapshots: SnapshotStore,
    private readonly journals: JournalStore,
    private readonly sentMarks: SentMarkStore,
  ) {}

  /**
   * Opens (creating when missing) the repository at `dir`: takes the lock, clears tmp/, loads pack indexes and
   * recovers packs a crash left without one (see `recovered`).
   */
  static async open(dir: string, options: RepositoryOptions = {}): Promise<Repository> {
    const layout = layoutOf(resolve(dir));
    const readOnly = options.readOnly ?? false;
    if (readOnly) {
      if (!(await readConfig(layout))) throw new RepositoryFormatError(`${layout.root} is not a Berth repository (no config.json)`);
      return Repository.assemble(layout, options, null);
    }
    await mkdir(layout.root, { recursive: true });
    await fsyncDir(dirname(layout.root));
    const lock = await RepositoryLock.acquire(layout.lock);
    try {
      const config = await readConfig(layout);
      if (config !== null) await ensureLayoutDirs(layout);
      else await createLayout(layout);
      await clearTmp(layout);
      if (config !== null) await upgradeConfig(layout, config);
      return await Repository.assemble(layout, options, lock);
    } catch (error) {
      await lock.release();
      throw error;
    }
  }

  private static async assemble(layout: Layout, options: RepositoryOptions, lock: RepositoryLock | null): Promise<Repository> {
    const readOnly = lock === null;
    let damage = await readDamage(layout.damage, readOnly ? null : layout.tmp);
    const packs = await PackStore.open(layout.packs, layout.tmp, {
      readOnly,
      packTargetBytes: options.packTargetBytes ?? DEFAULT_PACK_TARGET_BYTES,
      maxUnwrittenBytes: options.maxUnwrittenBytes ?? DEFAULT_MAX_UNWRITTEN_BYTES,
      syncBehindBytes: options.syncBehindBytes ?? DEFAULT_SYNC_BEHIND_BYTES,
      syncBehindMs: options.syncBehindMs ?? DEFAULT_SYNC_BEHIND_MS,
      onDamagedPack: async (report) => {
        damage = await recordDamage(layout.damage, layout.tmp, damage, report.pack);
      },
    });
    // A read-only open records nothing, but knows what it found.
    if (readOnly && damage === null && packs.recovered.some((report) => report.damaging)) {
      damage = { id: 'unrecorded', at: new Date().toISOString(), packs: packs.recovered.filter((report) => report.damaging).map((report) => report.pack) };
    }
    const repository = new Repository(
      layout,
      readOnly,
      lock,
      packs,
      new SnapshotStore(layout.snapshots, layout.tmp),
      new JournalStore(layout.runs, layout.tmp, readOnly),
      new SentMarkStore(layout.runs, layout.tmp),
    );
    repository.damageRecord = damage;
    return repository;
  }

  get root(): string {
    return this.layout.root;
  }

  /** Packs found damaged at open (torn tails cut off), for the caller to log. */
  get recovered(): readonly RecoveryReport[] {
    return this.packs.recovered;
  }

  /**
   * Null unless a crash recovery kept records after a damaged stretch of a pack (now or in an earlier open): then
   * a stored tree may refer to a lost object, trees being stored are checked in full (entries carried over from
   * stored trees too), and callers reusing stored entries check their objects first (hasAll).
   */
  get damage(): RepositoryDamage | null {
    return this.damageRecord;
  }

  /** Whether every one of `ids` is stored (a file's chunks, before its entry is carried over). */
  hasAll(ids: readonly ObjectId[]): boolean {
    this.assertOpen();
    for (const id of ids) if (!this.packs.has(objectIdHex(id))) return false;
    return true;
  }

  /**
   * Whether every object reachable from the tree `root` is stored (trees read, chunks looked up, nothing else
   * read): false at the first one missing or a tree that cannot be read. A tree found complete stays so (objects
   * are never removed) and is not walked again by this repository.
   */
  async subtreeStored(root: ObjectId): Promise<boolean> {
    this.assertOpen();
    // Trees are shared (identical directories are one tree): each is walked once.
    const visited = new Set<string>();
    const stack: ObjectId[] = [root];
    for (let id = stack.pop(); id !== undefined; id = stack.pop()) {
      const hex = objectIdHex(id);
      if (this.completeTrees.has(hex) || visited.has(hex)) continue;
      if (!this.packs.has(hex)) return false;
      let tree: Tree;
      try {
        tree = await this.readTree(id);
      } catch (error) {
        if (error instanceof RepositoryCorruptError || error instanceof RepositoryNotFoundError) return false;
        throw error;
      }
      visited.add(hex);
      for (const entry of tree.entries) {
        if (entry.subtree !== null) stack.push(entry.subtree);
        if (entry.content !== null && !this.hasAll(entry.content.chunks)) return false;
      }
    }
    for (const hex of visited) this.completeTrees.add(hex);
    return true;
  }

  /** Objects (blobs and trees) indexed. */
  get objectCount(): number {
    return this.packs.objectCount;
  }

  has(id: ObjectId): boolean {
    this.assertOpen();
    return this.packs.has(objectIdHex(id));
  }

  /** The length of a stored blob's bytes (as its index records it), or null when no blob has that id. */
  blobLength(id: ObjectId): number | null {
    this.assertOpen();
    return this.packs.lengthOf(objectIdHex(id), ObjectKind.Blob) ?? null;
  }

  async putBlob(data: Buffer): Promise<{ id: ObjectId; stored: boolean }> {
    this.assertWritable();
    if (!Buffer.isBuffer(data)) throw new RepositoryInputError('blob data must be a Buffer');
    if (data.length > CONTENT_CHUNK_BYTES) throw new RepositoryInputError(`blob of ${data.length} bytes exceeds the ${CONTENT_CHUNK_BYTES}-byte chunk size`);
    const id = sha256(data);
    const stored = await this.packs.put(ObjectKind.Blob, id, id.toString('hex'), data);
    return { id, stored };
  }

  async putTree(tree: Tree): Promise<{ id: ObjectId; stored: boolean }> {
    this.assertWritable();
    const encoded = encodeTree(tree);
    this.assertChildrenStored(tree);
    const id = sha256(encoded);
    const stored = await this.packs.put(ObjectKind.Tree, id, id.toString('hex'), encoded);
    return { id, stored };
  }

  /**
   * putTree for a tree whose entries are already encoded, in runs (see EncodedEntries): the runs are not encoded
   * again, nor joined into one buffer (they are hashed in turn and copied once, into the pack's segment).
   */
  async putTreeParts(parts: readonly EncodedEntries[]): Promise<{ id: ObjectId; stored: boolean }> {
    this.assertWritable();
    const { buffers } = encodedTreeParts(parts);
    for (const part of parts) {
      // Objects are never removed from an open repository: a run whose children were found stored (as a chunk's
      // resume-point tree) need not be looked up again for its directory's tree.
      if (this.checkedRuns.has(part)) continue;
      this.assertEntriesChildrenStored(part.entries);
      this.checkedRuns.add(part);
    }
    const id = sha256OfParts(buffers);
    const stored = await this.packs.put(ObjectKind.Tree, id, id.toString('hex'), buffers);
    return { id, stored };
  }

  async flush(): Promise<void> {
    this.assertWritable();
    await this.packs.flush();
  }

  async readBlob(id: ObjectId, options: ReadOptions = {}): Promise<Buffer> {
    this.assertOpen();
    return (await this.packs.read(objectIdHex(id), options.verify ?? true, options.into)).data;
  }

  async readTree(id: ObjectId): Promise<Tree> {
    this.assertOpen();
    const hex = objectIdHex(id);
    // Read for this decode alone (a fresh buffer, or a copy of a pending record): the tree may keep it.
    return decodeTree((await this.packs.read(hex)).data, hex, this.origin, true);
  }

  async readTreeIndex(id: ObjectId): Promise<TreeIndex> {
    this.assertOpen();
    const hex = objectIdHex(id);
    return decodeTreeIndex((await this.packs.read(hex)).data, hex, this.origin, true);
  }

  /** Flushes first, so a published snapshot never points at objects that are not durable. */
  async publishSnapshot(record: SnapshotRecord): Promise<void> {
    this.assertWritable();
    const rootTree = parseObjectId(record.rootTree);
    if (!this.packs.has(record.rootTree)) throw new RepositoryInputError(`snapshot ${record.id}: root tree ${record.rootTree} is not stored`);
    await this.readTree(rootTree);
    // The record is written (to tmp/, not yet a snapshot) while the packs are flushed, and put in place only once
    // every tree and blob it names is durable: its own fsyncs no longer follow the flush's.
    const [flushed, staged] = await Promise.allSettled([this.packs.flush(), this.snapshots.prepare(record)]);
    if (flushed.status === 'rejected') {
      // The flush's failure is the one to report; a staged file left behind is cleared when the repository next opens.
      if (staged.status === 'fulfilled') await staged.value.abort().catch(() => undefined);
      throw flushed.reason;
    }
    if (staged.status === 'rejected') throw staged.reason;
    await staged.value.commit();
  }

  listSnapshots(hostId: string): Promise<SnapshotRecord[]> {
    this.assertOpen();
    return this.snapshots.list(hostId);
  }

  latestSnapshot(hostId: string): Promise<SnapshotRecord | null> {
    this.assertOpen();
    return this.snapshots.latest(hostId);
  }

  findSnapshot(snapshotId: string): Promise<SnapshotRecord | null> {
    this.assertOpen();
    return this.snapshots.find(snapshotId);
  }

  appendJournal(runId: string, records: readonly JournalRecord[]): Promise<void> {
    this.assertWritable();
    return this.journals.append(runId, records);
  }

  readJournal(runId: string): Promise<JournalRecord[]> {
    this.assertOpen();
    return this.journals.read(runId);
  }

  async removeJournal(runId: string): Promise<void> {
    this.assertWritable();
    await this.sentMarks.remove(runId);
    await this.journals.remove(runId);
  }

  readSentMark(runId: string): Promise<SentMark | null> {
    this.assertOpen();
    return this.sentMarks.read(runId);
  }

  writeSentMark(runId: string, mark: SentMark): Promise<void> {
    this.assertWritable();
    return this.sentMarks.write(runId, mark);
  }

  async verifySnapshot(snapshotId: string): Promise<{ objects: number; bytes: number; problems: string[] }> {
    this.assertOpen();
    const snapshot = await this.snapshots.find(snapshotId);
    if (!snapshot) throw new RepositoryNotFoundError(`snapshot ${snapshotId} is not in the repository`);
    return verifyTree(
      {
        readObject: async (id) => (await this.packs.read(objectIdHex(id))).data,
        decodeTree: (data, id) => decodeTree(data, objectIdHex(id)),
      },
      parseObjectId(snapshot.rootTree),
    );
  }

  createContentWriter(): FileContentWriter {
    this.assertWritable();
    return new ContentWriter(this);
  }

  readFileContent(content: FileContent, options: ReadOptions = {}): AsyncIterable<Buffer> {
    this.assertOpen();
    return readFileContent(this, content, options);
  }

  walkTree(rootId: ObjectId): AsyncIterable<WalkItem> {
    this.assertOpen();
    return walkTree(this, rootId);
  }

  resolvePath(rootId: ObjectId, path: Buffer): Promise<TreeEntry | null> {
    this.assertOpen();
    return resolvePath(this, rootId, path);
  }

  /** Makes everything durable, writes the current pack's index, closes files and releases the lock. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    let failure: Error | null = null;
    for (const step of [() => this.packs.close(), () => this.journals.close()]) {
      try {
        await step();
      } catch (error) {
        failure ??= error instanceof Error ? error : new Error(String(error));
      }
    }
    // Released even after a failure: the next owner recovers whatever state the packs are in.
    await this.lock?.release();
    if (failure) throw failure;
  }

  /** A tree may only point at stored objects, so whatever reaches a tree can also be read. */
  private assertChildrenStored(tree: Tree): void {
    this.assertEntriesChildrenStored(tree.entries);
  }

  private assertEntriesChildrenStored(entries: readonly TreeEntry[]): void {
    for (const entry of entries) {
      // An entry of a tree read from this repository refers to stored objects: the tree was written only once they
      // were (this check), packs are written in order so a crash cannot keep a tree and lose what it refers to, and
      // nothing removes objects from a repository.
      // A damaging recovery (see damage) breaks that order: then every entry is checked.
      if (this.damageRecord === null && storedEntryOrigin(entry) === this.origin) continue;
      if (entry.subtree !== null) this.assertStored(entry, entry.subtree);
      if (entry.content !== null) for (const chunk of entry.content.chunks) this.assertStored(entry, chunk);
    }
  }

  private assertStored(entry: TreeEntry, id: ObjectId): void {
    if (!this.packs.has(id.toString('hex'))) throw new RepositoryInputError(`tree entry ${showBytes(entry.name)} refers to ${id.toString('hex')}, which is not stored`);
  }

  private assertOpen(): void {
    if (this.closed) throw new RepositoryNotWritableError(`repository ${this.layout.root} is closed`);
  }

  private assertWritable(): void {
    this.assertOpen();
    if (this.readOnly) throw new RepositoryNotWritableError(`repository ${this.layout.root} is open read-only`);
  }
}
