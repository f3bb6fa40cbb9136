import { randomBytes } from 'node:crypto';
import { type FileHandle, open, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic, isErrno, readFully } from '../durable-fs';
import { RepositoryCorruptError, RepositoryIoError, RepositoryNotFoundError } from '../errors';
import { GroupCommit } from '../group-commit';
import { sha256 } from '../ids';
import { type ObjectId } from '../model';
import { decodeIndex, encodeIndex, type ObjectKind, type PackEntry, RECORD_HEADER_BYTES } from './pack-format';
import { scanPack, type ScanResult } from './pack-scan';
import { dataBytes, PackWriter } from './pack-writer';

export interface PackStoreOptions {
  /** A pack is sealed (indexed) and a new one started once it would grow past this. */
  readonly packTargetBytes: number;
  /** Producers wait in put() while more than this many appended bytes are not yet written. */
  readonly maxUnwrittenBytes: number;
  /**
   * Once this many bytes were appended to the current pack since the last commit asked for, one is started in the
   * background (0: never). Without it the kernel keeps a large file's pages dirty until the commit that follows its
   * last byte, and that commit waits for all of them; with it, for at most about this much.
   */
  readonly syncBehindBytes: number;
  /**
   * Also once this long has passed since the last commit was asked for, when at least SYNC_BEHIND_MIN_BYTES were
   * appended since (0: never; neither when syncBehindBytes is 0). On a slow link syncBehindBytes take long to arrive and, at a file's end, up to
   * that much is still to sync; this keeps it to about what arrives in this time, at a bounded number of syncs a
   * second where data arrives fast.
   */
  readonly syncBehindMs: number;
  readonly readOnly: boolean;
  /**
   * Called, before the recovered pack is cut or indexed, for a recovery that is `damaging` (RecoveryReport): from
   * then on a kept tree may refer to an object that was lost. The repository records that durably here (see
   * Repository.damage), since the cut and the index written next hide the damage from later opens.
   */
  readonly onDamagedPack?: (report: RecoveryReport) => Promise<void>;
}

interface Location {
  readonly pack: PackRef;
  readonly kind: ObjectKind;
  readonly offset: number;
  readonly length: number;
}

interface PackRef {
  readonly id: string;
  readonly path: string;
  /** Set while the pack is being written; records not yet on disk are read from it. */
  writer: PackWriter | null;
}

export interface RecoveryReport {
  readonly pack: string;
  /** What was wrong: each damaged stretch between intact records, then the torn tail, with their byte offsets. */
  readonly problem: string;
  /** Bytes that held no intact record: damaged stretches (left in the file, not indexed) and the tail (cut off). */
  readonly bytesDropped: number;
  /** Damaged stretches with intact records after them, whose records were kept. */
  readonly damagedSpans: number;
  /** Intact records indexed from the pack. */
  readonly objectsKept: number;
  /**
   * Whether objects kept (here or in another pack) may refer to what was dropped: records were kept after a
   * damaged stretch, or a tail was cut (or the pack removed) where no crash can explain it, in a pack that had an
   * index or while more than one pack needed recovery. A torn tail of the one pack being written is not: what
   * refers to a record is written after it, so it went with the tail. See Repository.damage.
   */
  readonly damaging: boolean;
}

const MAX_OPEN_READ_HANDLES = 64;
/** The least a commit behind the appends started by time (syncBehindMs) has to sync: not one per small file. */
const SYNC_BEHIND_MIN_BYTES = 1024 * 1024;
const PACK_FILE = /^[0-9a-f]{32}\.pack$/;

/**
 * All packs of a repository: an in-memory index (hex id -> location), one pack open for appends, group-committed
 * durability, and recovery of packs left without an index by a crash.
 */
export class PackStore {
  private readonly index = new Map<string, Location>();
  private current: PackRef | null = null;
  /** Data sync of the most recently rolled-over pack: the next pack writes nothing before it resolves. */
  private lastSynced: Promise<void> = Promise.resolve();
  /** Rolled-over packs whose data is not yet fsync'd: flush() waits for them. */
  private readonly pendingSyncs = new Set<Promise<void>>();
  /** Rolled-over packs whose index is not yet written: close() waits for them. */
  private readonly pendingIndexes = new Set<Promise<void>>();
  private readonly sealingWriters = new Set<PackWriter>();
  private readonly readHandles = new Map<string, Promise<FileHandle>>();
  private readonly commits = new GroupCommit(() => this.commit());
  /** The pack and its append end when a commit was last asked for (by flush or in the background), and when. */
  private committedFrom: { writer: PackWriter | null; end: number; at: number } = { writer: null, end: 0, at: Date.now() };
  private syncingBehind = false;
  private failure: RepositoryIoError | null = null;
  readonly recovered: RecoveryReport[] = [];

  private constructor(
    private readonly packsDir: string,
    private readonly tmpDir: string,
    private readonly options: PackStoreOptions,
  ) {}

  static async open(packsDir: string, tmpDir: string, options: PackStoreOptions): Promise<PackStore> {
    const store = new PackStore(packsDir, tmpDir, options);
    await store.load();
    return store;
  }

  get objectCount(): number {
    return this.index.size;
  }

  has(idHex: string): boolean {
    return this.index.has(idHex);
  }

  /**
   * Appends the object unless its id is already indexed. The id must be the SHA-256 of `data` (callers hash
   * once), or of its parts joined (see PackWriter.append). Indexing happens synchronously, so concurrent puts of
   * the same content store it once.
   */
  async put(kind: ObjectKind, id: ObjectId, idHex: string, data: Buffer | readonly Buffer[]): Promise<boolean> {
    this.throwIfFailed();
    if (this.index.has(idHex)) return false;
    const pack = this.packFor(RECORD_HEADER_BYTES + dataBytes(data));
    const writer = pack.writer as PackWriter;
    const entry = writer.append(kind, id, data);
    this.index.set(idHex, { pack, kind, offset: entry.offset, length: entry.length });
    this.syncBehind(writer);
    await this.waitForRoom(writer);
    return true;
  }

  /**
   * Starts a commit in the background once syncBehindBytes were appended to `writer` since a commit was last asked
   * for, or syncBehindMs passed since with at least SYNC_BEHIND_MIN_BYTES appended, unless one is running already.
   * Its failure fails the store, as a foreground one does.
   */
  private syncBehind(writer: PackWriter): void {
    const { syncBehindBytes: every, syncBehindMs } = this.options;
    if (every <= 0 || this.syncingBehind) return;
    const appended = writer.appendEnd - (this.committedFrom.writer === writer ? this.committedFrom.end : 0);
    if (appended < every && (syncBehindMs <= 0 || appended < SYNC_BEHIND_MIN_BYTES || Date.now() - this.committedFrom.at < syncBehindMs)) return;
    this.committedFrom = { writer, end: writer.appendEnd, at: Date.now() };
    this.syncingBehind = true;
    this.commits
      .request()
      .catch(() => undefined)
      .finally(() => {
        this.syncingBehind = false;
      });
  }

  /**
   * Backpressure: bytes appended but not yet written are bounded across the current pack and the packs being
   * sealed (the current one cannot write before its predecessor is synced, so those count too).
   */
  private async waitForRoom(writer: PackWriter): Promise<void> {
    const max = this.options.maxUnwrittenBytes;
    while (writer.unwrittenBytes + this.sealingBytes() > max) {
      if (this.pendingSyncs.size > 0) await Promise.race(this.pendingSyncs);
      else await writer.waitForRoom(max).catch((error: unknown) => this.fail('pack write failed', error));
      this.throwIfFailed();
    }
  }

  private sealingBytes(): number {
    let bytes = 0;
    for (const writer of this.sealingWriters) bytes += writer.unwrittenBytes;
    return bytes;
  }

  /** Makes everything put so far durable; concurrent callers share one fdatasync. */
  async flush(): Promise<void> {
    this.throwIfFailed();
    if (!this.current?.writer?.hasUnsyncedData && this.pendingSyncs.size === 0) {
      this.committedFrom = { ...this.committedFrom, at: Date.now() };
      await this.commits.idle();
      this.throwIfFailed();
      return;
    }
    this.committedFrom = { writer: this.current?.writer ?? null, end: this.current?.writer?.appendEnd ?? 0, at: Date.now() };
    await this.commits.request();
  }

  /** The length of an indexed object's bytes, or undefined when no object of that kind is indexed under the id. */
  lengthOf(idHex: string, kind: ObjectKind): number | undefined {
    const location = this.index.get(idHex);
    return location?.kind === kind ? location.length : undefined;
  }

  /** Reads and verifies an object's bytes (SHA-256 must equal its id; with `verify` false only its length is checked). */
  async read(idHex: string, verify = true, into?: Uint8Array): Promise<{ kind: ObjectKind; data: Buffer }> {
    const location = this.index.get(idHex);
    if (!location) throw new RepositoryNotFoundError(`object ${idHex} is not in the repository`);
    // `into` is used only when the object fits; the bytes are then a view of it.
    const target = into !== undefined && into.length >= location.length ? Buffer.from(into.buffer, into.byteOffset, location.length) : undefined;
    const data = location.pack.writer?.readPending(location.offset, location.length, target) ?? (await this.readFromFile(location, target));
    if (data.length !== location.length || (verify && sha256(data).toString('hex') !== idHex)) {
      throw new RepositoryCorruptError(`object ${idHex} in pack ${location.pack.id} at byte ${location.offset} does not match its id`, idHex);
    }
    return { kind: location.kind, data };
  }

  /** Flushes, seals the current pack (writes its index) and closes every file. */
  async close(): Promise<void> {
    try {
      if (!this.failure && !this.options.readOnly) {
        await this.flush();
        if (this.current) this.rollOver();
        await Promise.all([...this.pendingSyncs, ...this.pendingIndexes]);
      }
    } finally {
      await this.current?.writer?.abandon();
      const handles = [...this.readHandles.values()];
      this.readHandles.clear();
      for (const handle of handles) await (await handle.catch(() => null))?.close();
    }
    this.throwIfFailed();
  }

  /** The pack to append a record to: the current one, unless the record would take it past the target size. */
  private packFor(recordBytes: number): PackRef {
    const current = this.current;
    if (current?.writer && (current.writer.appendEnd + recordBytes <= this.options.packTargetBytes || current.writer.entries.length === 0)) {
      return current;
    }
    this.rollOver();
    const packId = randomBytes(16).toString('hex');
    const path = join(this.packsDir, packId.slice(0, 2), `${packId}.pack`);
    const ref: PackRef = { id: packId, path, writer: new PackWriter(path, this.lastSynced) };
    this.current = ref;
    return ref;
  }

  /**
   * Seals the current pack in the background: its data is fsync'd (the next pack starts writing only then, and
   * flush() waits for it), then its index is written (close() waits for that).
   */
  private rollOver(): void {
    const ref = this.current;
    const writer = ref?.writer;
    if (!ref || !writer) return;
    this.current = null;
    this.sealingWriters.add(writer);
    const synced = writer.seal().then(
      () => void this.sealingWriters.delete(writer),
      (error: unknown) => this.fail(`syncing pack ${ref.id} failed`, error),
    );
    const indexed = synced
      .then(() => writeFileAtomic(this.tmpDir, indexPath(ref.path), encodeIndex(writer.entries, writer.appendEnd)))
      .then(
        () => {
          ref.writer = null;
        },
        (error: unknown) => this.fail(`indexing pack ${ref.id} failed`, error),
      );
    this.lastSynced = synced;
    track(this.pendingSyncs, synced);
    track(this.pendingIndexes, indexed);
  }

  private async commit(): Promise<void> {
    this.throwIfFailed();
    const writer = this.current?.writer;
    try {
      await Promise.all(this.pendingSyncs);
      this.throwIfFailed();
      if (writer) await writer.sync();
    } catch (error) {
      this.fail('flush failed', error);
    }
    if (writer && writer === this.current?.writer && writer.appendEnd >= this.options.packTargetBytes) this.rollOver();
  }

  /** After a failed write or fsync the kernel may have dropped dirty pages: no later fsync can vouch for them. */
  private fail(what: string, error: unknown): never {
    this.failure ??= error instanceof RepositoryIoError ? error : new RepositoryIoError(`${what}: ${String(error)}; reopen the repository to recover`, error);
    throw this.failure;
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }

  private async readFromFile(location: Location, target?: Buffer): Promise<Buffer> {
    const handle = await this.readHandle(location.pack);
    return readFully(handle, location.length, location.offset, target);
  }

  private readHandle(pack: PackRef): Promise<FileHandle> {
    let handle = this.readHandles.get(pack.id);
    if (handle) {
      // Re-insert so the map's order is least recently used first.
      this.readHandles.delete(pack.id);
      this.readHandles.set(pack.id, handle);
      return handle;
    }
    handle = open(pack.path, 'r');
    handle.catch(() => this.readHandles.delete(pack.id));
    this.readHandles.set(pack.id, handle);
    if (this.readHandles.size > MAX_OPEN_READ_HANDLES) {
      const [oldestId, oldest] = this.readHandles.entries().next().value as [string, Promise<FileHandle>];
      this.readHandles.delete(oldestId);
      // Reads already holding it finish first: close() waits for pending operations on a FileHandle.
      void oldest.then((h) => h.close()).catch(() => undefined);
    }
    return handle;
  }

  private async load(): Promise<void> {
    const unindexed: { path: string; packId: string; hadIndex: boolean }[] = [];
    for (const shard of await listDir(this.packsDir)) {
      if (!/^[0-9a-f]{2}$/.test(shard)) continue;
      const shardDir = join(this.packsDir, shard);
      for (const name of await listDir(shardDir)) {
        if (!PACK_FILE.test(name)) continue;
        const path = join(shardDir, name);
        const packId = name.slice(0, -'.pack'.length);
        const indexed = await this.loadIndex(path);
        if (Array.isArray(indexed)) this.addEntries({ id: packId, path, writer: null }, indexed);
        else unindexed.push({ path, packId, hadIndex: indexed === 'rejected' });
      }
    }
    const scanned: { path: string; packId: string; hadIndex: boolean; scan: ScanResult }[] = [];
    for (const pack of unindexed) scanned.push({ ...pack, scan: await scanFile(pack.path) });
    // A crash leaves at most one pack with records and a torn tail, the one being written (a sealed pack's data
    // is synced before the next pack is written: its index may be missing, its records are whole). A cut in a
    // pack that had an index, or in more than one pack, is damage no crash explains.
    const cuts = scanned.filter(({ scan }) => scan.entries.length > 0 && scan.validEnd < scan.fileBytes).length;
    for (const { path, packId, hadIndex, scan } of scanned) {
      const entries = await this.recoverPack(path, packId, scan, hadIndex || cuts > 1);
      this.addEntries({ id: packId, path, writer: null }, entries);
    }
  }

  private addEntries(ref: PackRef, entries: readonly PackEntry[]): void {
    for (const entry of entries) {
      const idHex = entry.id.toString('hex');
      if (!this.index.has(idHex)) this.index.set(idHex, { pack: ref, kind: entry.kind, offset: entry.offset, length: entry.length });
    }
  }

  /** The pack's index entries; 'absent' without an index file, 'rejected' for one that is damaged or longer than the pack. */
  private async loadIndex(packPath: string): Promise<PackEntry[] | 'absent' | 'rejected'> {
    let bytes: Buffer;
    try {
      bytes = await readFile(indexPath(packPath));
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return 'absent';
      throw error;
    }
    const decoded = decodeIndex(bytes);
    if (typeof decoded === 'string') return 'rejected';
    const handle = await open(packPath, 'r');
    try {
      const { size } = await handle.stat();
      return size >= decoded.packBytes ? decoded.entries : 'rejected';
    } finally {
      await handle.close();
    }
  }

  /**
   * A pack without a trustworthy index (the one being written when the process stopped, or one whose index was
   * lost): scan it, keep every intact record, cut off a torn tail, make the cut durable, then write its index so
   * the next open is fast. A damaged record in the middle is left in the file unindexed: the records after it are
   * intact and may be acknowledged, so they are kept. Read-only opens only scan.
   */
  private async recoverPack(path: string, packId: string, scan: ScanResult, cutIsDamage: boolean): Promise<PackEntry[]> {
    const problems = scan.damaged.map((span) => `${span.problem} (${span.bytes} bytes without an intact record)`);
    if (scan.tailProblem !== null) problems.push(`${scan.tailProblem} (tail of ${scan.fileBytes - scan.validEnd} bytes cut off)`);
    let report: RecoveryReport | null = null;
    if (problems.length > 0) {
      const bytesDropped = scan.damaged.reduce((sum, span) => sum + span.bytes, scan.fileBytes - scan.validEnd);
      const damaging = scan.damaged.length > 0 || (cutIsDamage && scan.validEnd < scan.fileBytes);
      report = { pack: packId, problem: problems.join('; '), bytesDropped, damagedSpans: scan.damaged.length, objectsKept: scan.entries.length, damaging };
      this.recovered.push(report);
    }
    if (this.options.readOnly) return scan.entries;
    // Recorded before the cut and the index, which hide the damage from later opens.
    if (report?.damaging === true) await this.options.onDamagedPack?.(report);
    const handle = await open(path, 'r+');
    try {
      if (scan.entries.length === 0) {
        await handle.close();
        await rm(path, { force: true });
        await rm(indexPath(path), { force: true });
        return [];
      }
      if (scan.validEnd < scan.fileBytes) {
        await handle.truncate(scan.validEnd);
        await handle.sync();
      }
      await writeFileAtomic(this.tmpDir, indexPath(path), encodeIndex(scan.entries, scan.validEnd));
      return scan.entries;
    } finally {
      await handle.close().catch(() => undefined);
    }
  }
}

/** Keeps `promise` in `set` until it settles. Its failure is recorded by fail(), so it is marked handled here. */
function track(set: Set<Promise<void>>, promise: Promise<void>): void {
  set.add(promise);
  const remove = (): void => void set.delete(promise);
  promise.then(remove, remove);
}

async function scanFile(path: string): Promise<ScanResult> {
  const handle = await open(path, 'r');
  try {
    return await scanPack(handle);
  } finally {
    await handle.close();
  }
}

function indexPath(packPath: string): string {
  return `${packPath.slice(0, -'.pack'.length)}.idx`;
}

async function listDir(path: string): Promise<string[]> {
  try {
    return (await readdir(path)).sort();
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return [];
    throw error;
  }
}
