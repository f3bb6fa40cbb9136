import { findEntry, TreeEntryType, type JournalRecord, type RepositoryApi, type SnapshotRecord } from '@berth/repository';
import {
  EntryType,
  MessageType,
  PlanAction,
  joinPath,
  type ChunkMessage,
  type EntryMeta,
  type FileDataMessage,
  type FileEndMessage,
  type FramedConnection,
  type Message,
  type SnapshotSummary,
} from '@berth/wire';
import { randomUUID } from 'node:crypto';
import { type ReceiverLimits } from '../config/receiver-config';
import { type ReceiverMetrics } from '../server/metrics';
import { protocolError, toWireError } from '../session/errors';
import { nextMessage, showPath, type SessionContext } from '../session/session-context';
import { CommitPipeline, type CommitItem } from './commit-pipeline';
import { type DraftEntry, toTreeEntry } from './entries';
import { FileAssembler } from './file-assembler';
import { PreviousSnapshot, unchangedFile } from './previous-snapshot';

interface DirState {
  readonly path: Buffer;
  readonly key: string;
  /** Entries of the directory's completed chunks, in name order. */
  drafts: DraftEntry[];
  lastName: Buffer | null;
}

interface ChunkState {
  readonly seq: number;
  readonly dir: DirState;
  readonly last: boolean;
  readonly ops: number;
  /** undefined while a file's content is awaited, null when the file was dropped (read error on the agent). */
  readonly slots: Array<DraftEntry | null | undefined>;
  pendingFiles: number;
}

interface ExpectedFile {
  readonly chunk: ChunkState;
  readonly index: number;
  readonly meta: EntryMeta;
}

export interface BackupOutcome {
  readonly snapshotId: string;
  readonly rootTree: string;
  readonly stats: SnapshotSummary;
  readonly fileErrors: number;
}

export interface CreditState {
  /** Credit the agent holds and may still spend. */
  readonly availableBytes: number;
  readonly availableOps: number;
  /** Spent by the agent and not yet durable (what the receiver is holding for it). */
  readonly inFlightBytes: number;
  readonly inFlightOps: number;
}

const ROOT_KEY = '/';

function pathKey(path: Buffer): string {
  return path.toString('latin1');
}

/**
 * One attempt of a backup run. Chunks are planned against the host's previous snapshot (quick check), file
 * contents arrive strictly in plan order and are stored as they come, and each directory's tree is written
 * once its last chunk's files are stored. Durability (flush, journal, acknowledgement, credit) runs behind in
 * a CommitPipeline, so the agent keeps sending while earlier chunks are being made durable.
 */
export class BackupSession {
  private readonly committed = new Map<string, JournalRecord>();
  private readonly openDirs = new Map<string, DirState>();
  private readonly closedDirs = new Set<string>();
  private readonly chunks: ChunkState[] = [];
  private readonly expected: ExpectedFile[] = [];
  private readonly pipeline: CommitPipeline;
  private previous: PreviousSnapshot | null = null;
  private assembler: FileAssembler | null = null;
  private lastSeq = -1;
  private availableBytes: number;
  private availableOps: number;
  private bytesReceived = 0;
  private bytesStored = 0;
  private fileErrors = 0;

  constructor(
    private readonly conn: FramedConnection,
    private readonly inbox: AsyncIterator<Message>,
    private readonly repo: RepositoryApi,
    private readonly ctx: SessionContext,
    private readonly limits: ReceiverLimits,
    private readonly metrics: ReceiverMetrics,
  ) {
    this.availableBytes = limits.creditBytes;
    this.availableOps = limits.creditOps;
    this.pipeline = new CommitPipeline({
      store: repo,
      runId: ctx.runId,
      flushAfterBytes: Math.floor(limits.creditBytes / 4),
      acknowledge: (items, bytes, ops) => this.acknowledge(items, bytes, ops),
      onLatency: (ms) => metrics.recordCommitLatency(ms),
      onFailure: (error) => conn.close(toWireError(error)),
    });
  }

  creditState(): CreditState {
    return {
      availableBytes: this.availableBytes,
      availableOps: this.availableOps,
      inFlightBytes: this.limits.creditBytes - this.availableBytes,
      inFlightOps: this.limits.creditOps - this.availableOps,
    };
  }

  get stats(): { bytesReceived: number; bytesStored: number; fileErrors: number } {
    return { bytesReceived: this.bytesReceived, bytesStored: this.bytesStored, fileErrors: this.fileErrors };
  }

  async run(): Promise<BackupOutcome> {
    try {
      await this.start();
      for (;;) {
        const msg = await nextMessage(this.inbox);
        switch (msg.type) {
          case MessageType.Chunk:
            await this.onChunk(msg);
            break;
          case MessageType.FileData:
            await this.onFileData(msg);
            break;
          case MessageType.FileEnd:
            await this.onFileEnd(msg);
            break;
          case MessageType.Finish:
            return await this.finish();
          default:
            throw protocolError(`unexpected message type ${msg.type} in a backup session`);
        }
      }
    } catch (error) {
      // Tell the peer now: the commit pipeline may take a while to settle (a slow flush).
      this.conn.close(toWireError(error));
      throw error;
    } finally {
      await this.pipeline.settle();
    }
  }

  private async start(): Promise<void> {
    for (const record of await this.repo.readJournal(this.ctx.runId)) this.committed.set(pathKey(record.dir), record);
    const latest = await this.repo.latestSnapshot(this.ctx.hostId);
    if (latest !== null) this.previous = new PreviousSnapshot(this.repo, Buffer.from(latest.rootTree, 'hex'));
    await this.conn.send({
      type: MessageType.Welcome,
      sessionId: this.ctx.sessionId,
      attempt: this.ctx.attempt,
      committedDirs: [...this.committed.values()].map((record) => record.dir),
      maxFrameBytes: this.limits.maxFrameBytes,
      chunkMaxEntries: this.limits.chunkMaxEntries,
      chunkMaxBytes: this.limits.chunkMaxBytes,
      heartbeatMs: this.limits.heartbeatMs,
      idleTimeoutMs: this.limits.idleTimeoutMs,
      creditBytes: this.limits.creditBytes,
      creditOps: this.limits.creditOps,
    });
  }

  private async onChunk(msg: ChunkMessage): Promise<void> {
    if (msg.seq <= this.lastSeq) throw protocolError(`chunk seq ${msg.seq} does not follow ${this.lastSeq}`);
    this.lastSeq = msg.seq;
    const count = msg.entries.length;
    if (count > this.limits.chunkMaxEntries) throw protocolError(`chunk ${msg.seq} has ${count} entries, the limit is ${this.limits.chunkMaxEntries}`);
    if (count > this.availableOps) throw protocolError(`chunk ${msg.seq} has ${count} entries but only ${this.availableOps} entry credits remain`);
    this.availableOps -= count;
    this.metrics.recordOps(count);

    const dir = this.openDirectory(msg);
    const previousTree = this.previous === null ? null : await this.previous.directory(msg.dir);
    const chunk: ChunkState = { seq: msg.seq, dir, last: msg.last, ops: count, slots: new Array<DraftEntry | null | undefined>(count), pendingFiles: 0 };
    const actions: PlanAction[] = [];
    msg.entries.forEach((meta, index) => {
      if (meta.type === EntryType.File) {
        const previous = previousTree === null ? null : findEntry(previousTree, meta.name);
        if (previous !== null && previous.content !== null && unchangedFile(previous, meta)) {
          chunk.slots[index] = { meta, content: previous.content, size: meta.size };
          actions.push(PlanAction.Skip);
        } else {
          chunk.pendingFiles += 1;
          this.expected.push({ chunk, index, meta });
          actions.push(PlanAction.Whole);
        }
        return;
      }
      if (meta.type === EntryType.Dir) this.requireCommittedChild(msg.dir, meta.name);
      chunk.slots[index] = { meta, content: null, size: 0n };
      actions.push(PlanAction.Skip);
    });
    const lastEntry = msg.entries[count - 1];
    if (lastEntry !== undefined) dir.lastName = lastEntry.name;
    if (msg.last) {
      this.openDirs.delete(dir.key);
      this.closedDirs.add(dir.key);
    }
    this.chunks.push(chunk);
    await this.conn.send({ type: MessageType.ChunkPlan, seq: msg.seq, actions });
    await this.completeReadyChunks();
  }

  /** The directory a chunk continues, checking that its names keep ascending across chunks. */
  private openDirectory(msg: ChunkMessage): DirState {
    const key = pathKey(msg.dir);
    if (this.closedDirs.has(key)) throw protocolError(`directory ${showPath(msg.dir)} already had its last chunk in this session`);
    let dir = this.openDirs.get(key);
    if (dir === undefined) {
      dir = { path: msg.dir, key, drafts: [], lastName: null };
      this.openDirs.set(key, dir);
    }
    const first = msg.entries[0];
    if (first !== undefined && dir.lastName !== null && Buffer.compare(first.name, dir.lastName) <= 0) {
      throw protocolError(`chunk ${msg.seq} of ${showPath(msg.dir)} repeats or goes back in name order`);
    }
    return dir;
  }

  private requireCommittedChild(dir: Buffer, name: Buffer): void {
    const child = pathKey(joinPath(dir, name));
    if (!this.closedDirs.has(child) && !this.committed.has(child)) {
      throw protocolError(`directory entry ${showPath(joinPath(dir, name))} refers to a subdirectory not committed in this run`);
    }
  }

  private expectedHead(seq: number, index: number): ExpectedFile {
    const head = this.expected[0];
    if (head === undefined) throw protocolError(`content for entry ${index} of chunk ${seq} was not asked for`);
    if (head.chunk.seq !== seq || head.index !== index) {
      throw protocolError(`content for entry ${index} of chunk ${seq} arrived while entry ${head.index} of chunk ${head.chunk.seq} was expected`);
    }
    return head;
  }

  private newAssembler(): FileAssembler {
    return new FileAssembler(this.repo, (bytes, isNew) => {
      if (isNew) this.bytesStored += bytes;
      this.pipeline.noteStored(bytes);
    });
  }

  private async onFileData(msg: FileDataMessage): Promise<void> {
    this.expectedHead(msg.seq, msg.index);
    const length = msg.data.length;
    if (length > this.availableBytes) throw protocolError(`${length} bytes of data sent with only ${this.availableBytes} bytes of credit left`);
    this.availableBytes -= length;
    this.bytesReceived += length;
    this.metrics.recordBytes(length);
    this.assembler ??= this.newAssembler();
    await this.assembler.write(msg.data);
  }

  private async onFileEnd(msg: FileEndMessage): Promise<void> {
    const head = this.expectedHead(msg.seq, msg.index);
    const assembler = this.assembler ?? this.newAssembler();
    this.assembler = null;
    const file = await assembler.finish();
    this.expected.shift();
    const path = joinPath(head.chunk.dir.path, head.meta.name);
    if (msg.error !== null) {
      head.chunk.slots[head.index] = null;
      this.fileErrors += 1;
    } else {
      if (file.size !== msg.size) throw protocolError(`${showPath(path)}: the agent says ${msg.size} bytes were sent, ${file.size} arrived`);
      if (!file.content.sha256.equals(msg.sha256)) throw protocolError(`${showPath(path)}: SHA-256 of the received content does not match the agent's`);
      head.chunk.slots[head.index] = { meta: head.meta, content: file.content, size: file.size };
    }
    head.chunk.pendingFiles -= 1;
    await this.completeReadyChunks();
  }

  /** Chunks complete in seq order, once all their files are stored; a directory's last chunk writes its tree. */
  private async completeReadyChunks(): Promise<void> {
    for (let chunk = this.chunks[0]; chunk !== undefined && chunk.pendingFiles === 0; chunk = this.chunks[0]) {
      this.chunks.shift();
      for (const slot of chunk.slots) if (slot !== null && slot !== undefined) chunk.dir.drafts.push(slot);
      const journal = chunk.last ? await this.commitDirectory(chunk.dir) : null;
      this.pipeline.add({ seq: chunk.seq, dir: chunk.dir.path, dirComplete: chunk.last, ops: chunk.ops, journal });
    }
  }

  private async commitDirectory(dir: DirState): Promise<JournalRecord> {
    let files = 0;
    let dirs = 0;
    let bytes = 0;
    const entries = dir.drafts.map((draft) => {
      if (draft.meta.type === EntryType.Dir) {
        const child = this.committed.get(pathKey(joinPath(dir.path, draft.meta.name)));
        if (child === undefined) throw protocolError(`subdirectory ${showPath(joinPath(dir.path, draft.meta.name))} was never completed`);
        dirs += 1 + child.dirs;
        files += child.files;
        bytes += child.bytes;
        return toTreeEntry(draft, child.tree);
      }
      if (draft.meta.type === EntryType.File) {
        files += 1;
        bytes += Number(draft.size);
      }
      return toTreeEntry(draft, null);
    });
    const { id } = await this.repo.putTree({ entries });
    const record: JournalRecord = { dir: dir.path, tree: id, files, dirs, bytes };
    this.committed.set(dir.key, record);
    dir.drafts = [];
    return record;
  }

  private async acknowledge(items: readonly CommitItem[], creditBytes: number, creditOps: number): Promise<void> {
    for (const item of items) await this.conn.send({ type: MessageType.Committed, seq: item.seq, dir: item.dir, dirComplete: item.dirComplete });
    if (creditBytes === 0 && creditOps === 0) return;
    this.availableBytes += creditBytes;
    this.availableOps += creditOps;
    await this.conn.send({ type: MessageType.Credit, bytes: creditBytes, ops: creditOps });
  }

  private async finish(): Promise<BackupOutcome> {
    const waiting = this.expected[0];
    if (waiting !== undefined) throw protocolError(`Finish while the content of entry ${waiting.index} of chunk ${waiting.chunk.seq} is still expected`);
    const open = this.openDirs.values().next().value;
    if (open !== undefined) throw protocolError(`Finish while directory ${showPath(open.path)} still waits for its last chunk`);
    try {
      await this.pipeline.drain();
    } catch (error) {
      throw toWireError(error);
    }
    const root = this.committed.get(ROOT_KEY);
    if (root === undefined) throw protocolError('Finish before the root directory "/" was committed');
    const rootTree = root.tree.toString('hex');
    const topLevel = await this.repo.readTree(root.tree);
    const stats: SnapshotSummary = { files: root.files, dirs: root.dirs, bytes: root.bytes, bytesReceived: this.bytesReceived, bytesStored: this.bytesStored };
    const record: SnapshotRecord = {
      id: randomUUID(),
      hostId: this.ctx.hostId,
      hostName: this.ctx.hostName,
      runId: this.ctx.runId,
      rootTree,
      paths: topLevel.entries.filter((e) => e.type === TreeEntryType.Dir).map((e) => `/${e.name.toString('utf8')}`),
      startedAt: this.ctx.startedAt.toISOString(),
      publishedAt: new Date().toISOString(),
      stats,
    };
    await this.repo.publishSnapshot(record);
    await this.repo.removeJournal(this.ctx.runId);
    await this.conn.send({ type: MessageType.Done, snapshotId: record.id, rootTree, publishedAt: record.publishedAt, stats });
    return { snapshotId: record.id, rootTree, stats, fileErrors: this.fileErrors };
  }
}
