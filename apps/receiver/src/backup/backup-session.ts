import { alignedBlockLength, chunkCountFor, chunkListHash, CONTENT_HASH_BYTES, isDeltaError, MAX_STRONG_LENGTH, Sha256Stream, strongLengthFor, withStrongLength, type Signature } from '@berth/delta';
import {
  CONTENT_CHUNK_BYTES,
  RepositoryCorruptError,
  TreeEntryType,
  type FileContent,
  type JournalRecord,
  type RepositoryApi,
  type SnapshotRecord,
  type TreeEntry,
  ContentWriter,
  EncodedEntries,
  inlineWholeHash,
  type SentMark,
  type StoredPrefix,
  type WrittenContent,
} from '@berth/repository';
import {
  EntryType,
  furthestPosition,
  MessageType,
  PlanAction,
  BASIS_CHUNKS_PROTOCOL_VERSION,
  CONTENT_HASH_PROTOCOL_VERSION,
  DIR_DIGEST_PROTOCOL_VERSION,
  PREVIOUS_SNAPSHOT_PROTOCOL_VERSION,
  FIRST_CHUNK_OFFER_PROTOCOL_VERSION,
  directoryDigest,
  joinPath,
  type ChunkMessage,
  type DirDigestMessage,
  type PackedChunkMessage,
  type ContentOfferMessage,
  type EntryMeta,
  type FileDataMessage,
  type FileEndMessage,
  type FramedConnection,
  type Message,
  type SnapshotSummary,
} from '@berth/wire';
import { createHash, randomUUID } from 'node:crypto';
import { type ReceiverLimits } from '../config/receiver-config';
import { type ReceiverMetrics } from '../server/metrics';
import { protocolError, toWireError } from '../session/errors';
import { nextMessage, showPath, type SessionContext } from '../session/session-context';
import { CommitPipeline, type CommitItem } from './commit-pipeline';
import { asTreeMetadata, type DraftEntry, draftMetas, toEntryMetas, toTreeEntry } from './entries';
import { chunksIntact, SIGNATURE_FRAME_BYTES, signatureFrames, signStoredContent } from './basis-signature';
import { DeltaApplier } from './delta-applier';
import { DigestIndex, type DigestIndexStore } from './digest-index';
import { AscendingLookup, identicalFile, PreviousSnapshot, unchangedFile } from './previous-snapshot';
import { RepositoryBasis } from './repository-basis';
import { SignatureCache, VersionSignature } from './signature-cache';
import { Fifo } from '../util/fifo';

/** A file's content as stored (or found already stored): what its tree entry needs. */
type StoredFile = Pick<WrittenContent, 'content' | 'size'>;

interface DirState {
  readonly path: Buffer;
  readonly key: string;
  /** Entries of the directory's completed chunks already encoded (as their resume points' trees), in name order. */
  parts: EncodedPart[];
  /** Entries of completed chunks not yet encoded (no resume point for them), in name order after `parts`. */
  drafts: DraftEntry[];
  lastName: Buffer | null;
  /** Entries an earlier attempt committed chunk by chunk (they sort before every draft), with their stats. */
  readonly seed: DirSeed | null;
}

/** What earlier attempts committed of a directory they did not finish: its chunks' entries, in order. */
interface DirSeed {
  readonly dir: Buffer;
  readonly entries: TreeEntry[];
  readonly files: number;
  readonly dirs: number;
  readonly bytes: number;
  /** Name of the last committed entry: the agent resumes after it. */
  readonly after: Buffer;
}

/** Tree entries for a list of drafts, with the stats of what they hold. */
interface BuiltEntries {
  readonly entries: TreeEntry[];
  readonly files: number;
  readonly dirs: number;
  readonly bytes: number;
}

/**
 * Entries encoded once, with their stats: a chunk's resume-point tree, and later a run of its directory's tree.
 * A large directory's entries are so encoded (and validated) once, not again for the directory.
 */
interface EncodedPart {
  readonly encoded: EncodedEntries;
  /** The entries' metadata, for the directory's digest (see draftMetas). */
  readonly metas: readonly EntryMeta[];
  readonly files: number;
  readonly dirs: number;
  readonly bytes: number;
}

interface ChunkState {
  readonly seq: number;
  readonly dir: DirState;
  readonly last: boolean;
  /** Entry credit the chunk still holds, given back when it is durable (entries needing no content may be given back at once). */
  ops: number;
  /** Name of the chunk's last entry (null for an empty chunk): a resume point once the chunk is journaled. */
  readonly lastName: Buffer | null;
  /** undefined while a file's content is awaited, null when the file was dropped (read error on the agent). */
  readonly slots: Array<DraftEntry | null | undefined>;
  pendingFiles: number;
  /** v4: a directory committed whole from the digest index (no entries, no slots): its journal record. */
  readonly reused: JournalRecord | null;
}

interface ExpectedFile {
  readonly chunk: ChunkState;
  readonly index: number;
  readonly meta: EntryMeta;
  /** Planned as Delta against this previous version; null: planned Whole. */
  readonly basis: Basis | null;
}

/** A previous version a file is sent as a delta against. */
interface Basis {
  readonly content: FileContent;
  readonly size: bigint;
  /** Block length of its signature when that is kept in the SignatureCache (large files), else null. */
  readonly keptBlockLength: number | null;
  /**
   * Set when a chunk it shares with the new version, or the basis itself, read back damaged (signatureFailures): the new
   * version's signature is then not kept, so that the next delta signs the damaged chunk as it reads and sends its
   * blocks as data, instead of matching a kept signature of the good bytes and failing the rebuild every night.
   */
  damaged?: boolean;
}

/** The file whose content is arriving (between its first FileData, ContentOffer or FileEnd and its FileEnd). */
interface OpenFile {
  readonly file: ExpectedFile;
  readonly assembler: ContentWriter;
  /** Set when the content arrives as a delta (not for a resend, which is whole). */
  readonly applier: DeltaApplier | null;
  /** The signature of the version being stored, assembled chunk by chunk for the SignatureCache (large files). */
  readonly signature: VersionSignature | null;
  /** Why the delta could not be applied; the file is then asked for again whole at FileEnd. */
  deltaFailure: Error | null;
  /** The delta's frames taken so far, applied in order behind the message loop (onFileData); FileEnd awaits it. */
  applying: Promise<void>;
  /** Set when the session ends: frames not applied yet are dropped. */
  stopped: boolean;
  /** Content the repository already holds, accepted from a ContentOffer: no data follows. */
  offered: StoredFile | null;
  /** Content bytes of the file received so far, counted from its start (a resumed file starts after its stored part); null for a delta. */
  offset: bigint | null;
  /** Asked for again after a failed delta: content this session already went past. */
  readonly resend: boolean;
}

/** What the delta and dedup paths saved, for the session's log line. */
export interface TransferCounters {
  readonly deltaFiles: number;
  readonly deltaRetries: number;
  /** Deltas whose basis signature came from the SignatureCache instead of a read of the whole basis. */
  readonly signaturesKept: number;
  /**
   * Previous versions found damaged or unreadable: when signing them, after a delta against them failed, or when the
   * rebuilt file shares a chunk the delta did not copy whole (a damaged chunk the new version does not share is not
   * seen here: it affects only the snapshots that hold it).
   */
  readonly signatureFailures: number;
  readonly offersKnown: number;
  readonly bytesNotSent: number;
  /** Large files resumed after their stored leading chunks (v3), and the bytes those chunks spared. */
  readonly filesResumed: number;
  readonly bytesResumed: number;
}

export interface BackupOutcome {
  readonly snapshotId: string;
  readonly rootTree: string;
  readonly stats: SnapshotSummary;
  readonly fileErrors: number;
  /**
   * What failed after the snapshot was published: the last journal records, the digest index, the journal's
   * removal. None of it can undo the snapshot, so the session still ends with Done; the operator is told.
   */
  readonly afterPublish: readonly string[];
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
/** Entries received and not yet committed, per entry credit, beyond which content-free entries keep their credit until committed. */
const UNSETTLED_ENTRIES_PER_CREDIT_OP = 8;
/**
 * Basis chunk ids sent with a signature (v8): those of the first 16 GiB (half a signature frame of ids). With the
 * last signature frame they stay within the smallest frame limit a receiver may set (2 MiB); later chunks are
 * compared block by block.
 */
const MAX_BASIS_CHUNK_IDS = SIGNATURE_FRAME_BYTES / 2 / CONTENT_HASH_BYTES;

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
  /** Partly committed directories from earlier attempts (v2 agents only), consumed when the directory reopens. */
  private readonly seeds = new Map<string, DirSeed>();
  private readonly openDirs = new Map<string, DirState>();
  private readonly closedDirs = new Set<string>();
  /** Chunks not yet committed, in seq order (a queue as long as the entry credit allows). */
  private readonly chunks = new Fifo<ChunkState>();
  /** Files planned to come, in the order they come (a queue as long as the entry credit allows). */
  private readonly expected = new Fifo<ExpectedFile>();
  private readonly pipeline: CommitPipeline;
  /** Finish arrived: the commit pipeline's failure no longer ends the session by itself (see finish). */
  private finishing = false;
  private previous: PreviousSnapshot | null = null;
  private current: OpenFile | null = null;
  /** Files whose delta failed, asked for again whole (key: seq/index). */
  private readonly resends = new Map<string, ExpectedFile>();
  private counters = { deltaFiles: 0, deltaRetries: 0, signaturesKept: 0, signatureFailures: 0, offersKnown: 0, bytesNotSent: 0, filesResumed: 0, bytesResumed: 0 };
  private lastSeq = -1;
  /** How far earlier attempts of the run got sending content (for the agent's count of what it sends again). */
  private sentMark: SentMark | null = null;
  /** The furthest file this session received content of. */
  private reached: OpenFile | null = null;
  private availableBytes: number;
  private availableOps: number;
  /** Entries of chunks received and not yet handed to the commit pipeline (their drafts are in memory). */
  private unsettledEntries = 0;
  private bytesReceived = 0;
  private bytesStored = 0;
  private fileErrors = 0;
  /** v4: trees of the host's previous runs by directory digest, and the digests of this run's directories. */
  private readonly digestStore: DigestIndexStore;
  private readonly signatures: SignatureCache;
  /** SignatureCache writes not finished yet (see keepSignature). */
  private readonly savingSignatures = new Set<Promise<void>>();
  /** Kept signatures of versions this run's snapshot replaces, removed once it is published (keepSignature). */
  private readonly replacedSignatures: Array<{ readonly sha256: Buffer; readonly blockLength: number }> = [];
  /** How a delta's rebuild behind the message loop (onFileData) failed, once one has: the loop stops at once. */
  private applyFailure: Error | null = null;
  /** Rejects the message loop's wait for the next message (nextMessageOrApplyFailure) while it waits. */
  private interruptWait: ((error: Error) => void) | null = null;
  private digestIndex = new DigestIndex();
  private readonly dirDigests = new Map<string, Buffer>();
  /** Digests of the subdirectories of this run's directories with a digest (absent: not known), by path. */
  private readonly dirChildren = new Map<string, readonly Buffer[]>();
  private dirsReused = 0;
  /** Unchanged files sent again because a damaging recovery lost a chunk of their stored content (see Repository.damage). */
  private filesLost = 0;
  /**
   * Directories sent again because a stored tree they would have reused lost an object: an earlier attempt's
   * (committed or in part), plus the previous snapshot's trees that could not be read (PreviousSnapshot.treesLost).
   */
  private dirsLost = 0;
  /** Directory digests the agent sent (none on a host's first backup with a v6 agent). */
  private digestsReceived = 0;

  /**
   * @param digestStore the receiver's (one for all sessions: a host's next session waits for this one's save)
   * @param history the host's history, when the caller already reads it (readHostHistory); read here otherwise
   */
  constructor(
    private readonly conn: FramedConnection,
    private readonly inbox: AsyncIterator<Message>,
    private readonly repo: RepositoryApi,
    private readonly ctx: SessionContext,
    private readonly limits: ReceiverLimits,
    private readonly metrics: ReceiverMetrics,
    digestStore: DigestIndexStore,
    private readonly history: Promise<HostHistory> | null = null,
  ) {
    this.availableBytes = limits.creditBytes;
    this.availableOps = limits.creditOps;
    this.digestStore = digestStore;
    this.signatures = new SignatureCache(repo.root);
    this.pipeline = new CommitPipeline({
      store: repo,
      runId: ctx.runId,
      flushAfterBytes: Math.floor(limits.creditBytes / 4),
      acknowledge: (items, bytes, ops) => this.acknowledge(items, bytes, ops),
      onLatency: (ms) => metrics.recordCommitLatency(ms),
      // While Finish is handled the failure is finish()'s to judge: the snapshot may be published regardless.
      onFailure: (error) => {
        if (!this.finishing) conn.close(toWireError(error));
      },
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

  get stats(): { bytesReceived: number; bytesStored: number; fileErrors: number; digestsReceived: number; dirsReused: number; filesLost: number; dirsLost: number } & TransferCounters {
    return {
      bytesReceived: this.bytesReceived,
      bytesStored: this.bytesStored,
      fileErrors: this.fileErrors,
      digestsReceived: this.digestsReceived,
      dirsReused: this.dirsReused,
      filesLost: this.filesLost,
      dirsLost: this.dirsLost + (this.previous?.treesLost ?? 0),
      ...this.counters,
    };
  }

  /**
   * The next message, or the failure of a rebuild behind the loop (onFileData) as soon as it happens, which ends the
   * session at once: the agent may be waiting for byte credit that only the rebuild's frames give back, and would
   * send nothing more. Not Promise.race with a promise of that failure: every race would leave a reaction on it
   * until the session ends, one per message (tens of thousands per large directory), all kept alive for the garbage
   * collector to trace and promote.
   */
  private nextMessageOrApplyFailure(): Promise<Message> {
    if (this.applyFailure !== null) return Promise.reject(this.applyFailure);
    const next = nextMessage(this.inbox);
    return new Promise<Message>((resolve, reject) => {
      this.interruptWait = reject;
      next.then(resolve, reject);
    });
  }

  private failApply(error: unknown): void {
    if (this.applyFailure !== null) return;
    this.applyFailure = error instanceof Error ? error : new Error(String(error));
    this.interruptWait?.(this.applyFailure);
  }

  async run(): Promise<BackupOutcome> {
    try {
      await this.start();
      for (;;) {
        const msg = await this.nextMessageOrApplyFailure();
        switch (msg.type) {
          case MessageType.Chunk:
            await this.onChunk(msg);
            break;
          case MessageType.PackedChunk:
            if (this.ctx.protocol < DIR_DIGEST_PROTOCOL_VERSION) throw protocolError(`PackedChunk needs protocol ${DIR_DIGEST_PROTOCOL_VERSION}`);
            await this.onChunk(msg);
            break;
          case MessageType.DirDigest:
            await this.onDirDigest(msg);
            break;
          case MessageType.FileData:
            await this.onFileData(msg);
            break;
          case MessageType.FileEnd:
            await this.onFileEnd(msg);
            break;
          case MessageType.ContentOffer:
            await this.onContentOffer(msg);
            break;
          case MessageType.Finish:
            return await this.finish();
          default:
            throw protocolError(`unexpected message type ${msg.type} in a backup session`);
        }
      }
    } catch (error) {
      // Tell the peer now: the commit pipeline may take a while to settle (a slow flush), a rebuild its current frame.
      this.conn.close(toWireError(error));
      const open = this.current;
      if (open !== null) {
        // A rebuild behind the loop applies no further frame; the one under way ends before its writer is aborted.
        open.stopped = true;
        await open.applying.catch(() => undefined);
        open.assembler.abort();
      }
      await this.saveSentMark();
      throw error;
    } finally {
      await this.pipeline.settle();
      await Promise.all(this.savingSignatures);
    }
  }

  private async start(): Promise<void> {
    // Independent reads, all before Welcome: at once (the host's history usually under way since Hello).
    const [, sentMark, history] = await Promise.all([
      this.loadJournal(),
      (async () => this.repo.readSentMark(this.ctx.runId))(),
      this.history ?? readHostHistory(this.repo, this.digestStore, this.ctx.hostId, this.ctx.protocol),
    ]);
    const latest = history.snapshot;
    this.digestIndex = history.digestIndex;
    this.sentMark = sentMark;
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
      resumeDirs: [...this.seeds.values()].map(({ dir, after }) => ({ dir, after })),
      sentThrough: this.ctx.protocol >= 3 ? this.sentMark : null,
      // Directory digests can match only against a previous snapshot's (the digest index is loaded only then).
      previousSnapshot: this.ctx.protocol >= PREVIOUS_SNAPSHOT_PROTOCOL_VERSION ? latest !== null : null,
    });
  }

  /**
   * Directories committed by earlier attempts, and (for a v2 agent) the chunks committed of directories they did
   * not finish: those chunks' entries are read back now and seed the directory when it reopens. A v1 agent
   * cannot skip entries, so it re-sends such a directory whole and the chunk records are ignored.
   */
  private async loadJournal(): Promise<void> {
    const chunks = new Map<string, JournalRecord[]>();
    for (const record of await this.repo.readJournal(this.ctx.runId)) {
      const key = pathKey(record.dir);
      if (record.partialThrough === undefined) {
        this.committed.set(key, record);
        chunks.delete(key);
      } else if (!this.committed.has(key)) {
        chunks.set(key, [...(chunks.get(key) ?? []), record]);
      }
    }
    if (this.repo.damage !== null) await this.dropLostWork(chunks);
    if (this.ctx.protocol < 2) return;
    for (const [key, records] of chunks) {
      const entries: TreeEntry[] = [];
      for (const record of records) entries.push(...(await this.repo.readTree(record.tree)).entries);
      const last = records[records.length - 1] as JournalRecord;
      this.seeds.set(key, {
        dir: last.dir,
        entries,
        files: records.reduce((sum, r) => sum + r.files, 0),
        dirs: records.reduce((sum, r) => sum + r.dirs, 0),
        bytes: records.reduce((sum, r) => sum + r.bytes, 0),
        after: last.partialThrough as Buffer,
      });
    }
  }

  /**
   * After a damaging recovery (Repository.damage) a tree an earlier attempt stored may refer to a lost object:
   * such a directory, committed or in part, is forgotten and sent again whole.
   */
  private async dropLostWork(chunks: Map<string, JournalRecord[]>): Promise<void> {
    for (const [key, record] of [...this.committed]) {
      if (await this.repo.subtreeStored(record.tree)) continue;
      this.committed.delete(key);
      this.dirsLost += 1;
    }
    for (const [key, records] of [...chunks]) {
      for (const record of records) {
        if (await this.repo.subtreeStored(record.tree)) continue;
        chunks.delete(key);
        this.dirsLost += 1;
        break;
      }
    }
  }

  /**
   * v4: a directory named by the digest of its subtree. When the host stored a tree with that digest (and the
   * repository still holds it), the directory is committed as that tree, in seq order with the chunks around it.
   */
  private async onDirDigest(msg: DirDigestMessage): Promise<void> {
    if (this.ctx.protocol < DIR_DIGEST_PROTOCOL_VERSION) throw protocolError(`DirDigest needs protocol ${DIR_DIGEST_PROTOCOL_VERSION}`);
    if (msg.seq <= this.lastSeq) throw protocolError(`directory digest seq ${msg.seq} does not follow ${this.lastSeq}`);
    this.lastSeq = msg.seq;
    this.digestsReceived += 1;
    const key = pathKey(msg.dir);
    if (this.closedDirs.has(key) || this.openDirs.has(key) || this.committed.has(key)) {
      throw protocolError(`directory ${showPath(msg.dir)} named by its digest after its entries or its digest`);
    }
    const indexed = this.digestIndex.get(msg.digest);
    const reused = indexed !== null && this.repo.has(indexed.tree);
    if (reused) {
      const record: JournalRecord = { dir: msg.dir, tree: indexed.tree, files: indexed.files, dirs: indexed.dirs, bytes: indexed.bytes };
      this.committed.set(key, record);
      this.closedDirs.add(key);
      this.dirDigests.set(key, msg.digest);
      if (indexed.children !== undefined) this.dirChildren.set(key, indexed.children);
      this.dirsReused += 1;
      const dir: DirState = { path: msg.dir, key, parts: [], drafts: [], lastName: null, seed: null };
      this.chunks.push({ seq: msg.seq, dir, last: true, ops: 0, lastName: null, slots: [], pendingFiles: 0, reused: record });
    }
    await this.conn.send({ type: MessageType.DigestReply, seq: msg.seq, reused });
    await this.completeReadyChunks();
  }

  private async onChunk(msg: ChunkMessage | PackedChunkMessage): Promise<void> {
    if (msg.seq <= this.lastSeq) throw protocolError(`chunk seq ${msg.seq} does not follow ${this.lastSeq}`);
    this.lastSeq = msg.seq;
    const count = msg.entries.length;
    if (count > this.limits.chunkMaxEntries) throw protocolError(`chunk ${msg.seq} has ${count} entries, the limit is ${this.limits.chunkMaxEntries}`);
    if (count > this.availableOps) throw protocolError(`chunk ${msg.seq} has ${count} entries but only ${this.availableOps} entry credits remain`);
    this.availableOps -= count;
    this.metrics.recordOps(count);

    const dir = this.openDirectory(msg);
    const previousTree = this.previous === null ? null : await this.previous.directory(msg.dir);
    const lookup = previousTree === null ? null : new AscendingLookup(previousTree);
    const lastName = msg.entries[count - 1]?.name ?? null;
    const chunk: ChunkState = { seq: msg.seq, dir, last: msg.last, ops: count, lastName, slots: new Array<DraftEntry | null | undefined>(count), pendingFiles: 0, reused: null };
    const actions: PlanAction[] = [];
    for (const [index, meta] of msg.entries.entries()) {
      if (meta.type === EntryType.File) {
        const at = lookup === null ? -1 : lookup.indexOf(meta.name);
        // Equal in every field (compared in the stored encoding, so the entry is not decoded): the previous entry is
        // carried over as stored (not validated or encoded again). After a damaging recovery its chunks may be lost,
        // which only the decoded entry tells: then the checks below decide.
        if (lookup !== null && at >= 0 && this.repo.damage === null && lookup.tree.sameMetadata(at, asTreeMetadata(meta))) {
          chunk.slots[index] = { meta, content: null, size: meta.size, stored: lookup.tree.storedEntry(at, meta.name) };
          actions.push(PlanAction.Skip);
          continue;
        }
        const previous = lookup === null || at < 0 ? null : lookup.tree.entry(at);
        // After a damaging recovery the previous version's chunks may be lost: then it is neither reused nor a basis.
        const lost = previous !== null && previous.content !== null && this.repo.damage !== null && !this.repo.hasAll(previous.content.chunks);
        const unchanged = previous !== null && previous.content !== null && unchangedFile(previous, meta);
        if (lost && unchanged) this.filesLost += 1;
        if (previous !== null && previous.content !== null && !lost && unchanged) {
          chunk.slots[index] =
            lookup !== null && identicalFile(previous, meta)
              ? { meta, content: previous.content, size: meta.size, stored: lookup.tree.storedEntry(at) }
              : { meta, content: previous.content, size: meta.size };
          actions.push(PlanAction.Skip);
        } else {
          chunk.pendingFiles += 1;
          const basis = await this.offerSignature(msg.seq, index, lost ? null : previous, meta);
          this.expected.push({ chunk, index, meta, basis });
          actions.push(basis === null ? PlanAction.Whole : PlanAction.Delta);
        }
        continue;
      }
      if (meta.type === EntryType.Dir) this.requireCommittedChild(msg.dir, meta.name);
      chunk.slots[index] = { meta, content: null, size: 0n };
      actions.push(PlanAction.Skip);
    }
    if (lastName !== null) dir.lastName = lastName;
    if (msg.last) {
      this.openDirs.delete(dir.key);
      this.closedDirs.add(dir.key);
    }
    this.chunks.push(chunk);
    this.unsettledEntries += count;
    await this.conn.send({ type: MessageType.ChunkPlan, seq: msg.seq, actions });
    await this.creditContentFree(chunk);
    await this.completeReadyChunks();
  }

  /**
   * Entry credit stands for file operations on the repository: the entries of a chunk that need no content (an
   * unchanged file, a directory, a link) write nothing, so their credit goes back as soon as they are planned
   * instead of after the chunk's commit. A mostly unchanged directory then flows at the pace of its changed files.
   * Their drafts still wait in memory for the chunk's turn to commit, so this stops while too many entries are
   * unsettled; their credit then comes back with the commit, as for files.
   */
  private async creditContentFree(chunk: ChunkState): Promise<void> {
    const free = chunk.ops - chunk.pendingFiles;
    if (free === 0 || this.unsettledEntries > this.limits.creditOps * UNSETTLED_ENTRIES_PER_CREDIT_OP) return;
    chunk.ops -= free;
    this.availableOps += free;
    await this.conn.send({ type: MessageType.Credit, bytes: 0, ops: free });
  }

  /**
   * A changed file whose previous version is large enough travels as a delta: the previous version's signature
   * goes out now, before the plan. Returns that basis, or null to ask for the whole file (v1 agent, small or
   * no previous version, or a previous version the repository cannot read: a chunk missing or of the wrong length;
   * its content is not verified here, see signStoredContent).
   */
  private async offerSignature(seq: number, index: number, previous: TreeEntry | null, meta: EntryMeta): Promise<ExpectedFile['basis']> {
    const min = BigInt(this.limits.deltaMinBytes);
    if (this.ctx.protocol < 2 || previous === null || previous.type !== TreeEntryType.File || previous.content === null) return null;
    if (previous.size < min || meta.size < min) return null;
    const size = Number(previous.size);
    const blockLength = alignedBlockLength(size);
    let kept: Signature | null = null;
    let sig: Signature;
    try {
      if (size >= this.limits.signatureCacheMinBytes) {
        kept = await this.signatures.load(previous.content.sha256, blockLength);
        if (kept !== null) this.counters.signaturesKept += 1;
        else {
          kept = await signStoredContent(this.repo, previous.content, previous.size, blockLength, MAX_STRONG_LENGTH);
          this.keepSignature(previous.content.sha256, kept, null);
        }
        sig = withStrongLength(kept, strongLengthFor(size));
      } else {
        sig = await signStoredContent(this.repo, previous.content, previous.size, blockLength, strongLengthFor(size));
      }
    } catch (error) {
      if (!(error instanceof RepositoryCorruptError) && !isDeltaError(error)) throw error;
      this.counters.signatureFailures += 1;
      return null;
    }
    const frames = signatureFrames(sig);
    // v8: the basis's chunk ids, so the agent copies the chunks it finds unchanged without hashing their blocks.
    const fullChunks = Math.min(MAX_BASIS_CHUNK_IDS, Math.floor(size / CONTENT_CHUNK_BYTES));
    const basisChunks = this.ctx.protocol >= BASIS_CHUNKS_PROTOCOL_VERSION && fullChunks > 0 ? Buffer.concat(previous.content.chunks.slice(0, fullChunks)) : null;
    for (const [i, data] of frames.entries()) {
      const last = i === frames.length - 1;
      await this.conn.send({ type: MessageType.Signature, seq, index, data, last, basisChunks: last ? basisChunks : null });
    }
    this.counters.deltaFiles += 1;
    return { content: previous.content, size: previous.size, keptBlockLength: kept === null ? null : blockLength };
  }

  /**
   * Writes a signature into the SignatureCache without holding up the session (awaited when it ends); the one of the
   * version it replaces is removed once the snapshot is published. A cache: a failure to write it only means the next
   * delta signs its basis again.
   */
  private keepSignature(sha256: Buffer, sig: Signature, replaces: { readonly sha256: Buffer; readonly blockLength: number } | null): void {
    if (replaces !== null && !replaces.sha256.equals(sha256)) this.replacedSignatures.push(replaces);
    const saving = this.signatures.save(sha256, sig).catch(() => undefined);
    this.savingSignatures.add(saving);
    void saving.finally(() => this.savingSignatures.delete(saving));
  }


  /** The directory a chunk continues, checking that its names keep ascending across chunks. */
  private openDirectory(msg: ChunkMessage | PackedChunkMessage): DirState {
    const key = pathKey(msg.dir);
    if (this.closedDirs.has(key)) throw protocolError(`directory ${showPath(msg.dir)} already had its last chunk in this session`);
    let dir = this.openDirs.get(key);
    if (dir === undefined) {
      // A directory an earlier attempt partly committed continues after its last committed entry.
      const seed = this.seeds.get(key) ?? null;
      this.seeds.delete(key);
      dir = { path: msg.dir, key, parts: [], drafts: [], lastName: seed?.after ?? null, seed };
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

  /**
   * The file a content message is about: the one already open, else the next one in plan order or a file
   * asked for again (Resend), which the agent sends whole between two other files.
   */
  private async openFile(seq: number, index: number): Promise<OpenFile> {
    const open = this.current;
    if (open !== null) {
      if (open.file.chunk.seq !== seq || open.file.index !== index) {
        throw protocolError(`content for entry ${index} of chunk ${seq} arrived inside entry ${open.file.index} of chunk ${open.file.chunk.seq}`);
      }
      return open;
    }
    const key = `${seq}/${index}`;
    const resend = this.resends.get(key);
    let file: ExpectedFile;
    if (resend !== undefined) {
      this.resends.delete(key);
      file = resend;
    } else {
      const head = this.expected.peek();
      if (head === undefined) throw protocolError(`content for entry ${index} of chunk ${seq} was not asked for`);
      if (head.chunk.seq !== seq || head.index !== index) {
        throw protocolError(`content for entry ${index} of chunk ${seq} arrived while entry ${head.index} of chunk ${head.chunk.seq} was expected`);
      }
      this.expected.shift();
      file = head;
    }
    const asDelta = resend === undefined && file.basis !== null;
    const signature = await this.versionSignature(file.meta.size, asDelta ? file.basis : null);
    const assembler = this.newAssembler(!asDelta, null, signature);
    const basis = asDelta && file.basis !== null ? new RepositoryBasis(this.repo, file.basis.content, file.basis.size) : null;
    const applier =
      basis === null ? null : new DeltaApplier(basis, (data) => assembler.write(data), (chunk) => assembler.writeStored(chunk), this.legacyContentHash ? 'sha256' : 'content');
    this.current = {
      file,
      assembler,
      applier,
      signature,
      deltaFailure: null,
      applying: Promise.resolve(),
      stopped: false,
      offered: null,
      offset: asDelta ? null : 0n,
      resend: resend !== undefined,
    };
    return this.current;
  }

  /**
   * The signature to assemble for a file of (about) `size` bytes while it is stored, or null below the cache's size.
   * A delta's basis lends the blocks of the chunks copied from it whole when its own signature is kept (read again
   * here rather than held from the plan: a session may plan many large files before their content comes).
   */
  private async versionSignature(size: bigint, basis: Basis | null): Promise<VersionSignature | null> {
    if (size < BigInt(this.limits.signatureCacheMinBytes)) return null;
    const kept = basis === null || basis.keptBlockLength === null ? null : await this.signatures.load(basis.content.sha256, basis.keptBlockLength);
    return new VersionSignature(alignedBlockLength(Number(size)), kept === null || basis === null ? null : { signature: kept, chunks: basis.content.chunks });
  }

  /**
   * An agent before protocol 7 names content of more than one chunk by the SHA-256 of its bytes (see
   * CONTENT_HASH_PROTOCOL_VERSION), which the receiver must then compute over every byte; a newer one by its
   * chunk-list hash, which needs no hashing beyond the chunks' ids.
   */
  private get legacyContentHash(): boolean {
    return this.ctx.protocol < CONTENT_HASH_PROTOCOL_VERSION;
  }

  /**
   * Whole content: credit comes back as its chunks are stored. A delta: as its frames are applied (the wire
   * bytes are what the agent spent, not the larger rebuilt bytes).
   */
  private newAssembler(creditStored: boolean, prefix: StoredPrefix | null = null, signature: VersionSignature | null = null): ContentWriter {
    return new ContentWriter(
      {
        putBlob: async (chunk) => {
          const result = await this.repo.putBlob(chunk);
          if (result.stored) this.bytesStored += chunk.length;
          if (creditStored) this.pipeline.noteStored(chunk.length);
          return result;
        },
      },
      prefix,
      // Legacy naming: a delta's rebuild (of more than one chunk) is hashed whole on a helper thread, the main thread
      // only copying its bytes: the agent has little to do meanwhile. Content sent whole keeps its hash here: the agent
      // is busy sending it, and the copy and the helper would only add CPU while both cores are in use.
      this.legacyContentHash ? (creditStored ? inlineWholeHash : () => new Sha256Stream()) : null,
      signature === null ? null : (data, id, stored) => signature.add(data, id, stored),
    );
  }

  private async onFileData(msg: FileDataMessage): Promise<void> {
    const open = await this.openFile(msg.seq, msg.index);
    if (open.offered !== null) throw protocolError(`data for entry ${msg.index} of chunk ${msg.seq} after the repository said it has that content`);
    const length = msg.data.length;
    if (length > this.availableBytes) throw protocolError(`${length} bytes of data sent with only ${this.availableBytes} bytes of credit left`);
    this.availableBytes -= length;
    this.bytesReceived += length;
    this.metrics.recordBytes(length);
    if (open.offset !== null) open.offset += BigInt(length);
    if (!open.resend) this.reached = open;
    if (open.applier === null) {
      await open.assembler.write(msg.data);
      return;
    }
    // The rebuild (reads of the basis, hashing, storing) runs behind the message loop, frame after frame: the chunks
    // and digests the agent sends meanwhile (a large directory walked while a large file's delta streams) are planned
    // at once instead of waiting for it. Byte credit still comes back only as frames are applied, which bounds what
    // waits here; FileEnd waits for the last frame.
    const applier = open.applier;
    open.applying = open.applying.then(async () => {
      if (open.stopped) return;
      if (open.deltaFailure === null) {
        try {
          await applier.push(msg.data);
        } catch (error) {
          if (!isDeltaFailure(error)) throw error;
          open.deltaFailure = error;
        }
      }
      this.pipeline.noteStored(length);
    });
    open.applying.catch((error: unknown) => this.failApply(error));
  }

  /** Dedup before data: the agent names a large file's chunks; if the repository holds them all, nothing is sent. */
  private async onContentOffer(msg: ContentOfferMessage): Promise<void> {
    if (this.ctx.protocol < 2) throw protocolError('ContentOffer needs protocol 2');
    if (this.ctx.protocol >= FIRST_CHUNK_OFFER_PROTOCOL_VERSION && msg.chunks.length < Math.ceil(Number(msg.size) / CONTENT_CHUNK_BYTES)) {
      return this.onFirstChunkOffer(msg);
    }
    if (this.current !== null) throw protocolError(`ContentOffer for entry ${msg.index} of chunk ${msg.seq} inside another file's content`);
    const open = await this.openFile(msg.seq, msg.index);
    if (open.applier !== null) throw protocolError(`ContentOffer for entry ${msg.index} of chunk ${msg.seq}, which was planned as a delta`);
    const known = await this.holdsContent(msg);
    if (known) {
      open.offered = { content: { sha256: msg.sha256, chunks: msg.chunks }, size: msg.size };
      this.counters.offersKnown += 1;
      this.counters.bytesNotSent += Number(msg.size);
      await this.conn.send({ type: MessageType.OfferReply, seq: msg.seq, index: msg.index, known, heldChunks: 0 });
      return;
    }
    const prefix = this.ctx.protocol >= 3 ? await this.storedPrefix(msg) : null;
    if (prefix !== null) {
      // The file resumes after its stored part (an earlier attempt sent it, or another file shares its start).
      // Its stored chunks are not seen again: no signature is assembled for it.
      this.current = { ...open, assembler: this.newAssembler(true, prefix), signature: null, offset: BigInt(prefix.chunks.length * CONTENT_CHUNK_BYTES) };
      this.counters.filesResumed += 1;
      this.counters.bytesResumed += prefix.chunks.length * CONTENT_CHUNK_BYTES;
      this.counters.bytesNotSent += prefix.chunks.length * CONTENT_CHUNK_BYTES;
    }
    await this.conn.send({ type: MessageType.OfferReply, seq: msg.seq, index: msg.index, known, heldChunks: prefix?.chunks.length ?? 0 });
  }

  /**
   * v5: a file offered by its first chunk, in its turn or ahead of it (another file's content may be arriving).
   * Nothing is opened: without that chunk the repository holds neither the file nor a leading part of it, so
   * the content is asked for in full; with it, the agent offers the file again in full, in its turn, and that
   * offer decides (by then the files before it are stored, so a copy of one of them is found).
   */
  private async onFirstChunkOffer(msg: ContentOfferMessage): Promise<void> {
    const file = this.expected.find((candidate) => candidate.chunk.seq === msg.seq && candidate.index === msg.index);
    if (file === undefined) throw protocolError(`ContentOffer for entry ${msg.index} of chunk ${msg.seq}, whose content is not expected or has started`);
    if (file.basis !== null) throw protocolError(`ContentOffer for entry ${msg.index} of chunk ${msg.seq}, which was planned as a delta`);
    if (msg.chunks.length !== 1) throw protocolError(`a first-chunk ContentOffer for entry ${msg.index} of chunk ${msg.seq} names ${msg.chunks.length} chunks`);
    const held = this.repo.has(msg.chunks[0] as Buffer);
    await this.conn.send({ type: MessageType.OfferReply, seq: msg.seq, index: msg.index, known: false, heldChunks: held ? 1 : 0 });
  }

  /**
   * The longest run of leading chunks of an offer the repository holds (each a full chunk), with, for a legacy
   * agent, the whole-file hash the rest of the content continues, fed with their bytes read back verified; null when
   * there is none. Never the whole offer: the agent sends at least the last chunk, and FileEnd's hash checks the result.
   */
  private async storedPrefix(msg: ContentOfferMessage): Promise<StoredPrefix | null> {
    const whole = this.legacyContentHash ? createHash('sha256') : null;
    const chunks: Buffer[] = [];
    // Never the last chunk of the offer, nor more than the file's size has.
    for (const id of msg.chunks.slice(0, Math.min(msg.chunks.length, chunkCountFor(msg.size)) - 1)) {
      if (this.repo.blobLength(id) !== CONTENT_CHUNK_BYTES) break;
      if (whole !== null) {
        let data: Buffer;
        try {
          data = await this.repo.readBlob(id);
        } catch (error) {
          if (error instanceof RepositoryCorruptError) break;
          throw error;
        }
        whole.update(data);
      }
      chunks.push(id);
    }
    return chunks.length === 0 ? null : { chunks, whole: whole === null ? null : inlineWholeHash(whole) };
  }

  /**
   * True when every chunk is stored, they are the cut of a file of the offered size, and the offered hash names
   * them, so an entry can never name content that is not what its hash says. The content hash of protocol 7 is
   * checked from the ids and the stored lengths alone; a legacy agent's SHA-256 of the bytes by reading the chunks
   * back (local reads, far cheaper than the transfer they replace).
   */
  private async holdsContent(msg: ContentOfferMessage): Promise<boolean> {
    const count = chunkCountFor(msg.size);
    if (msg.size === 0n || msg.chunks.length !== count) return false;
    for (let index = 0; index < count; index++) {
      const expected = index < count - 1 ? CONTENT_CHUNK_BYTES : Number(msg.size) - (count - 1) * CONTENT_CHUNK_BYTES;
      if (this.repo.blobLength(msg.chunks[index] as Buffer) !== expected) return false;
    }
    if (!this.legacyContentHash || msg.chunks.length === 1) return chunkListHash(msg.chunks, msg.size).equals(msg.sha256);
    const whole = createHash('sha256');
    try {
      for await (const piece of this.repo.readFileContent({ sha256: msg.sha256, chunks: msg.chunks })) whole.update(piece);
    } catch (error) {
      if (error instanceof RepositoryCorruptError) return false;
      throw error;
    }
    return whole.digest().equals(msg.sha256);
  }

  private async onFileEnd(msg: FileEndMessage): Promise<void> {
    const open = await this.openFile(msg.seq, msg.index);
    await open.applying;
    this.current = null;
    const head = open.file;
    const path = joinPath(head.chunk.dir.path, head.meta.name);
    if (msg.error !== null) {
      open.assembler.abort();
      head.chunk.slots[head.index] = null;
      this.fileErrors += 1;
    } else {
      const file = await this.finishContent(open, msg);
      if (file === null) {
        await this.askAgain(head);
        return;
      }
      if (file.size !== msg.size) throw protocolError(`${showPath(path)}: the agent says ${msg.size} bytes were sent, ${file.size} arrived`);
      if (!file.content.sha256.equals(msg.sha256)) throw protocolError(`${showPath(path)}: the content hash of the received content does not match the agent's`);
      head.chunk.slots[head.index] = { meta: head.meta, content: file.content, size: file.size };
      const version = open.signature;
      const complete = version !== null && open.offered === null && !version.failed && BigInt(version.bytes) === file.size;
      // Kept under the block length a lookup of this size picks (the file may have changed size while it was read).
      if (complete && head.basis?.damaged !== true && version.blockLength === alignedBlockLength(Number(file.size))) {
        const basis = head.basis;
        const replaces = basis === null || basis.keptBlockLength === null ? null : { sha256: basis.content.sha256, blockLength: basis.keptBlockLength };
        this.keepSignature(file.content.sha256, version.finish(), replaces);
      }
    }
    head.chunk.pendingFiles -= 1;
    await this.completeReadyChunks();
  }

  /** The stored content of a file that just ended; null when its delta did not rebuild the agent's file. */
  private async finishContent(open: OpenFile, msg: FileEndMessage): Promise<StoredFile | null> {
    if (open.offered !== null) return open.offered;
    try {
      return open.applier === null ? await open.assembler.finish() : await this.finishDelta(open, open.applier, msg);
    } finally {
      // Content left unfinished (a delta that did not rebuild the file, a failure) frees its hash; no-op once finished.
      open.assembler.abort();
    }
  }

  private async finishDelta(open: OpenFile, applier: DeltaApplier, msg: FileEndMessage): Promise<StoredFile | null> {
    if (open.deltaFailure !== null) return null;
    try {
      const end = applier.finish();
      const file = await open.assembler.finish();
      const matches = BigInt(end.length) === file.size && end.sha256.equals(msg.sha256) && file.size === msg.size && file.content.sha256.equals(msg.sha256);
      if (!matches) return null;
      if (open.file.basis !== null) await this.checkSharedBasisChunks(file, applier, open.file.basis);
      return file;
    } catch (error) {
      if (isDeltaFailure(error)) return null;
      throw error;
    }
  }

  /**
   * A chunk of the rebuilt file with the id of a basis chunk, but not copied whole from it, was rebuilt around a block
   * that did not match: most likely that basis chunk reads differently from what its id says (damage on disk, whose
   * block then went as literal data). The new file shares the stored blob, so it is read back verified, and a damaged
   * one is counted. Usually there is none to check: an edited chunk gets a new id, an unchanged one is copied whole.
   */
  private async checkSharedBasisChunks(file: StoredFile, applier: DeltaApplier, basis: Basis): Promise<void> {
    const basisIds = new Set(basis.content.chunks.map((id) => id.toString('hex')));
    const shared = file.content.chunks.filter((id, index) => !applier.copiedWhole.has(index) && basisIds.has(id.toString('hex')));
    if (shared.length > 0 && !(await chunksIntact(this.repo, shared))) {
      this.counters.signatureFailures += 1;
      basis.damaged = true;
    }
  }

  /**
   * A delta that did not rebuild the file (damaged basis, wrong delta): the file is asked for once more, whole. Then
   * the basis is read back verified to tell which (the signature pass does not verify it): a damaged one is counted.
   */
  private async askAgain(file: ExpectedFile): Promise<void> {
    this.counters.deltaRetries += 1;
    this.resends.set(`${file.chunk.seq}/${file.index}`, file);
    await this.conn.send({ type: MessageType.Resend, seq: file.chunk.seq, index: file.index });
    if (file.basis !== null && !(await chunksIntact(this.repo, file.basis.content.chunks))) {
      this.counters.signatureFailures += 1;
      // The whole resend may share the damaged chunk: its signature is not kept, nor the basis's one (removed now).
      file.basis.damaged = true;
      if (file.basis.keptBlockLength !== null) await this.signatures.remove(file.basis.content.sha256, file.basis.keptBlockLength);
    }
  }

  /**
   * An attempt that ends without its snapshot leaves how far it got beside the journal, so the next attempt's agent
   * can count what it sends again even when this agent process is gone. Best effort: it is a statistic, and the
   * session's own failure is what must surface; a mark not written leaves the next count lower or unknown.
   */
  private async saveSentMark(): Promise<void> {
    const open = this.reached;
    if (open === null) return;
    const reached: SentMark = { dir: open.file.chunk.dir.path, name: open.file.meta.name, offset: open.offset };
    const furthest = furthestPosition(this.sentMark, reached);
    if (furthest === null || furthest === this.sentMark) return;
    await this.repo.writeSentMark(this.ctx.runId, furthest).catch(() => undefined);
  }

  /** Chunks complete in seq order, once all their files are stored; a directory's last chunk writes its tree. */
  private async completeReadyChunks(): Promise<void> {
    // The chunks that complete together (a directory's last file often completes its parents too, which waited in
    // seq order behind it) go to the pipeline together: one flush makes all their trees durable, where one started
    // with the first had the others' trees, written meanwhile, wait for a second (and a snapshot's publish behind it).
    const ready: CommitItem[] = [];
    try {
      for (let chunk = this.chunks.peek(); chunk !== undefined && chunk.pendingFiles === 0; chunk = this.chunks.peek()) {
        this.chunks.shift();
        if (chunk.reused !== null) {
          ready.push({ seq: chunk.seq, dir: chunk.dir.path, dirComplete: true, ops: 0, journal: chunk.reused });
          continue;
        }
        const drafts: DraftEntry[] = [];
        for (const slot of chunk.slots) if (slot !== null && slot !== undefined) drafts.push(slot);
        this.unsettledEntries -= chunk.slots.length;
        const journal = chunk.last ? await this.commitDirectory(chunk.dir, drafts) : await this.commitChunk(chunk, drafts);
        ready.push({ seq: chunk.seq, dir: chunk.dir.path, dirComplete: chunk.last, ops: chunk.ops, journal });
      }
    } finally {
      // Those committed before a failure still become durable (the next attempt then skips them).
      if (ready.length > 0) this.pipeline.add(...ready);
    }
  }

  /**
   * The directory's tree: its earlier attempt's entries (seed), the runs its chunks' resume points encoded, then
   * the entries of its other chunks and of its last one, encoded now; joined, not encoded again.
   */
  private async commitDirectory(dir: DirState, lastDrafts: readonly DraftEntry[]): Promise<JournalRecord> {
    const parts: EncodedPart[] = [];
    if (dir.seed !== null) {
      const { entries, files, dirs, bytes } = dir.seed;
      parts.push({ encoded: EncodedEntries.encode(entries), metas: toEntryMetas(entries), files, dirs, bytes });
    }
    parts.push(...dir.parts, this.encodePart(dir.path, [...dir.drafts, ...lastDrafts]));
    const { id } = await this.repo.putTreeParts(parts.map((part) => part.encoded));
    const record: JournalRecord = {
      dir: dir.path,
      tree: id,
      files: parts.reduce((sum, part) => sum + part.files, 0),
      dirs: parts.reduce((sum, part) => sum + part.dirs, 0),
      bytes: parts.reduce((sum, part) => sum + part.bytes, 0),
    };
    this.committed.set(dir.key, record);
    this.recordDigest(dir, parts.flatMap((part) => part.metas));
    dir.parts = [];
    dir.drafts = [];
    return record;
  }

  /** v4: the directory's digest as the agent will compute it next time, if its subdirectories' are known. */
  private recordDigest(dir: DirState, metas: readonly EntryMeta[]): void {
    if (this.ctx.protocol < DIR_DIGEST_PROTOCOL_VERSION) return;
    const children: Buffer[] = [];
    const digest = directoryDigest(metas, (entry) => {
      const child = this.dirDigests.get(pathKey(joinPath(dir.path, entry.name))) ?? null;
      if (child !== null) children.push(child);
      return child;
    });
    if (digest === null) return;
    this.dirDigests.set(dir.key, digest);
    this.dirChildren.set(dir.key, children);
  }

  /**
   * A directory's chunk that is not its last becomes a resume point (v2 agents): a tree of just this chunk's
   * entries and a journal record naming its last entry, so a later attempt re-sends only what follows.
   */
  private async commitChunk(chunk: ChunkState, drafts: readonly DraftEntry[]): Promise<JournalRecord | null> {
    const dir = chunk.dir;
    if (this.ctx.protocol < 2 || chunk.lastName === null) {
      dir.drafts.push(...drafts);
      return null;
    }
    // Entries of earlier chunks without a resume point come first in the directory: they become a run of their own.
    if (dir.drafts.length > 0) {
      dir.parts.push(this.encodePart(dir.path, dir.drafts));
      dir.drafts = [];
    }
    const part = this.encodePart(dir.path, drafts);
    dir.parts.push(part);
    const { id } = await this.repo.putTreeParts([part.encoded]);
    return { dir: dir.path, tree: id, files: part.files, dirs: part.dirs, bytes: part.bytes, partialThrough: chunk.lastName };
  }

  private encodePart(dirPath: Buffer, drafts: readonly DraftEntry[]): EncodedPart {
    const { entries, files, dirs, bytes } = this.buildEntries(dirPath, drafts);
    return { encoded: EncodedEntries.encode(entries), metas: draftMetas(drafts, entries), files, dirs, bytes };
  }

  private buildEntries(dirPath: Buffer, drafts: readonly DraftEntry[]): BuiltEntries {
    let files = 0;
    let dirs = 0;
    let bytes = 0;
    const entries = drafts.map((draft) => {
      if (draft.meta.type === EntryType.Dir) {
        const child = this.committed.get(pathKey(joinPath(dirPath, draft.meta.name)));
        if (child === undefined) throw protocolError(`subdirectory ${showPath(joinPath(dirPath, draft.meta.name))} was never completed`);
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
    return { entries, files, dirs, bytes };
  }

  private async acknowledge(items: readonly CommitItem[], creditBytes: number, creditOps: number): Promise<void> {
    for (const item of items) await this.conn.send({ type: MessageType.Committed, seq: item.seq, dir: item.dir, dirComplete: item.dirComplete });
    if (creditBytes === 0 && creditOps === 0) return;
    this.availableBytes += creditBytes;
    this.availableOps += creditOps;
    await this.conn.send({ type: MessageType.Credit, bytes: creditBytes, ops: creditOps });
  }

  /** The trees of this run's directories by digest, for the host's next run. */
  private async saveDigestIndex(): Promise<void> {
    if (this.ctx.protocol < DIR_DIGEST_PROTOCOL_VERSION) return;
    const index = new DigestIndex();
    for (const [key, digest] of this.dirDigests) {
      const record = this.committed.get(key);
      if (record === undefined) continue;
      const children = this.dirChildren.get(key);
      index.set(digest, { tree: record.tree, files: record.files, dirs: record.dirs, bytes: record.bytes, ...(children === undefined ? {} : { children }) });
    }
    // A directory reused whole stands for its subtree, whose directories this run did not see one by one.
    index.carryOver(this.digestIndex);
    await this.digestStore.save(this.ctx.hostId, index, this.ctx.sessionId);
  }

  private async finish(): Promise<BackupOutcome> {
    const waiting = this.current?.file ?? this.expected.peek() ?? this.resends.values().next().value;
    if (waiting !== undefined) throw protocolError(`Finish while the content of entry ${waiting.index} of chunk ${waiting.chunk.seq} is still expected`);
    const open = this.openDirs.values().next().value;
    if (open !== undefined) throw protocolError(`Finish while directory ${showPath(open.path)} still waits for its last chunk`);
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
    // The snapshot is published while the last journal records are made durable and acknowledged, not after them:
    // publishing flushes the packs itself (every tree and blob the snapshot names is durable before its record),
    // and once it is published the journal has nothing left to resume. Done waits for both. A failure of the drain
    // cannot take a published snapshot back: Done still goes out (failing the session would only make a retry
    // publish a second copy) and the failure is reported. A failure before Finish ends the session.
    const failedBefore = this.pipeline.failed;
    if (failedBefore !== null) throw toWireError(failedBefore);
    this.finishing = true;
    const [drained, published] = await Promise.allSettled([this.pipeline.drain(), this.repo.publishSnapshot(record)]);
    if (published.status === 'rejected') throw drained.status === 'rejected' ? toWireError(drained.reason) : published.reason;
    const afterPublish: string[] = [];
    if (drained.status === 'rejected') afterPublish.push(`the last journal records or their acknowledgement failed: ${errorText(drained.reason)}`);
    // The digest index is a cache whose entries are used only for trees the repository holds: it is written once
    // the snapshot is published, not alongside (its writes took the disk and the thread pool from the publishing),
    // and the host's next session waits for it (DigestIndexStore). Nor does Done wait for it, or for the run's
    // journal (never read again once the run is published: a later attempt, if any, would only skip what it names).
    // Its failure is taken at once (also when Done cannot be sent), and the session ends only once it is written.
    const indexed = this.saveDigestIndex().catch((error: unknown) => {
      afterPublish.push(`the directory digest index was not saved (the next run probes more): ${errorText(error)}`);
    });
    try {
      await this.conn.send({ type: MessageType.Done, snapshotId: record.id, rootTree, publishedAt: record.publishedAt, stats });
    } finally {
      await indexed;
    }
    await this.repo.removeJournal(this.ctx.runId).catch((error: unknown) => afterPublish.push(`the run's journal was not removed: ${errorText(error)}`));
    // The versions this snapshot replaced are no basis any more (a retry of this run would still have used them).
    await Promise.all(this.savingSignatures);
    for (const replaced of this.replacedSignatures) await this.signatures.remove(replaced.sha256, replaced.blockLength);
    return { snapshotId: record.id, rootTree, stats, fileErrors: this.fileErrors, afterPublish };
  }
}

/** What a backup session reads of its host before Welcome: the latest snapshot and, when there is one, the digest index. */
export interface HostHistory {
  readonly snapshot: SnapshotRecord | null;
  readonly digestIndex: DigestIndex;
}

/**
 * Reads a host's history. It only reads, so the session handler starts it as soon as Hello names the host, while
 * the controller verifies the session, and uses it once the controller has vouched for that host.
 */
export async function readHostHistory(repo: RepositoryApi, digestStore: DigestIndexStore, hostId: string, protocol: number): Promise<HostHistory> {
  const snapshot = await repo.latestSnapshot(hostId);
  // Directory digests can match only against a previous snapshot's.
  const digestIndex = snapshot !== null && protocol >= DIR_DIGEST_PROTOCOL_VERSION ? await digestStore.load(hostId) : new DigestIndex();
  return { snapshot, digestIndex };
}

/** A delta that cannot be applied to its basis: the file is worth asking for whole, the session goes on. */
function isDeltaFailure(error: unknown): error is Error {
  return isDeltaError(error) || error instanceof RepositoryCorruptError;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
