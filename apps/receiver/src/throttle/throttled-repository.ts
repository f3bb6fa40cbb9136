import { type EncodedEntries, type FileContentWriter, type ObjectId, type ReadOptions, type RepositoryApi, type RepositoryDamage, type Tree, type TreeIndex, type WrittenContent, type JournalRecord, type SentMark } from '@berth/repository';
import { type WriteThrottleSettings } from '../config/receiver-config';
import { type BucketClock, realClock, TokenBucket } from './token-bucket';

/** A tenth of a second's worth may go at once: smooth like a disk, not bursty like a page cache. */
const BURST_SECONDS = 0.1;

/**
 * The repository as a slow disk: content bytes and file operations (a file's content finished, a tree
 * stored, a journal append) pass through token buckets before reaching the real repository. Reads are not
 * throttled. Sessions see only the RepositoryApi, so the receiver's flow control meets the slowness exactly
 * where a real slow disk would put it.
 */
export class ThrottledRepository implements RepositoryApi {
  private readonly bytes: TokenBucket | null;
  private readonly ops: TokenBucket | null;

  constructor(
    private readonly inner: RepositoryApi,
    settings: WriteThrottleSettings,
    clock: BucketClock = realClock,
  ) {
    this.bytes = settings.bytesPerSecond === null ? null : new TokenBucket(settings.bytesPerSecond, Math.max(1, settings.bytesPerSecond * BURST_SECONDS), clock);
    this.ops = settings.opsPerSecond === null ? null : new TokenBucket(settings.opsPerSecond, Math.max(1, settings.opsPerSecond * BURST_SECONDS), clock);
  }

  get root(): string {
    return this.inner.root;
  }

  has(id: ObjectId): boolean {
    return this.inner.has(id);
  }

  hasAll(ids: readonly ObjectId[]): boolean {
    return this.inner.hasAll(ids);
  }

  blobLength(id: ObjectId): number | null {
    return this.inner.blobLength(id);
  }

  get damage(): RepositoryDamage | null {
    return this.inner.damage;
  }

  subtreeStored(root: ObjectId): Promise<boolean> {
    return this.inner.subtreeStored(root);
  }

  async putBlob(data: Buffer): Promise<{ id: ObjectId; stored: boolean }> {
    await this.bytes?.take(data.length);
    return this.inner.putBlob(data);
  }

  async putTree(tree: Tree): Promise<{ id: ObjectId; stored: boolean }> {
    await this.ops?.take(1);
    return this.inner.putTree(tree);
  }

  async putTreeParts(parts: readonly EncodedEntries[]): Promise<{ id: ObjectId; stored: boolean }> {
    await this.ops?.take(1);
    return this.inner.putTreeParts(parts);
  }

  flush(): Promise<void> {
    return this.inner.flush();
  }

  readBlob(id: ObjectId, options?: ReadOptions): Promise<Buffer> {
    return this.inner.readBlob(id, options);
  }

  readTree(id: ObjectId): Promise<Tree> {
    return this.inner.readTree(id);
  }

  readTreeIndex(id: ObjectId): Promise<TreeIndex> {
    return this.inner.readTreeIndex(id);
  }

  publishSnapshot(record: Parameters<RepositoryApi['publishSnapshot']>[0]): Promise<void> {
    return this.inner.publishSnapshot(record);
  }

  listSnapshots(hostId: string): ReturnType<RepositoryApi['listSnapshots']> {
    return this.inner.listSnapshots(hostId);
  }

  latestSnapshot(hostId: string): ReturnType<RepositoryApi['latestSnapshot']> {
    return this.inner.latestSnapshot(hostId);
  }

  findSnapshot(snapshotId: string): ReturnType<RepositoryApi['findSnapshot']> {
    return this.inner.findSnapshot(snapshotId);
  }

  async appendJournal(runId: string, records: readonly JournalRecord[]): Promise<void> {
    await this.ops?.take(1);
    return this.inner.appendJournal(runId, records);
  }

  readJournal(runId: string): Promise<JournalRecord[]> {
    return this.inner.readJournal(runId);
  }

  readSentMark(runId: string): Promise<SentMark | null> {
    return this.inner.readSentMark(runId);
  }

  writeSentMark(runId: string, mark: SentMark): Promise<void> {
    return this.inner.writeSentMark(runId, mark);
  }

  removeJournal(runId: string): Promise<void> {
    return this.inner.removeJournal(runId);
  }

  verifySnapshot(snapshotId: string): ReturnType<RepositoryApi['verifySnapshot']> {
    return this.inner.verifySnapshot(snapshotId);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  createContentWriter(): FileContentWriter {
    const writer = this.inner.createContentWriter();
    return {
      write: async (data: Buffer): Promise<void> => {
        await this.bytes?.take(data.length);
        return writer.write(data);
      },
      finish: async (): Promise<WrittenContent> => {
        await this.ops?.take(1);
        return writer.finish();
      },
    };
  }

  readFileContent(content: Parameters<RepositoryApi['readFileContent']>[0], options?: ReadOptions): ReturnType<RepositoryApi['readFileContent']> {
    return this.inner.readFileContent(content, options);
  }

  walkTree(rootId: ObjectId): ReturnType<RepositoryApi['walkTree']> {
    return this.inner.walkTree(rootId);
  }

  resolvePath(rootId: ObjectId, path: Buffer): ReturnType<RepositoryApi['resolvePath']> {
    return this.inner.resolvePath(rootId, path);
  }
}
