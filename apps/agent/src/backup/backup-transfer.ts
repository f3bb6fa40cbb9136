/**
 * The agent's half of one backup session (see the flow in @berth/wire messages.ts):
 *
 *   Hello -> Wait* -> Welcome(committedDirs, limits, credit)
 *   producer: walk (post-order, byte order), cut each directory into Chunks, send them as op credit allows
 *   data:     for each chunk in seq order, await its ChunkPlan, stream the files marked Whole in entry order
 *             (on a host's first backup the plan is known when the chunk is sent: every regular file Whole; its
 *             content follows at once and the ChunkPlan, when it comes, is checked against that)
 *             (large ones offered by their first chunk's hash first, ahead of the file before them, and in full
 *             when the receiver holds that chunk: ContentOffer -> OfferReply) and deltas of those
 *             marked Delta against the Signature that came before the plan; a Resend is served whole
 *             between two files
 *   receiver: Credit adds to the window, Committed moves the checkpoint (and settles a chunk's deltas)
 *   Finish -> Done(snapshot)
 *
 * Producer and data sender run side by side, so many chunks are in flight while content flows: there is
 * no round trip per file or per directory. One reader loop dispatches every incoming message; any
 * failure (connection lost, protocol violation, abort) fails every waiter at once.
 */
import {
  MessageType,
  PlanAction,
  PROTOCOL_VERSION,
  WireError,
  ErrorCode,
  type ChunkPlanMessage,
  type DigestReplyMessage,
  type DoneMessage,
  type FramedConnection,
  type Message,
  type OfferReplyMessage,
  type OutgoingMessage,
  type SignatureMessage,
  type WelcomeMessage,
} from '@berth/wire';
import { CONTENT_CHUNK_BYTES } from '@berth/delta';
import { AgentError, AgentErrorCode } from '../errors/agent-error';
import { protocolError, sessionError } from '../receiver/session-errors';
import { AsyncQueue } from '../util/async-queue';
import { deferred, type Deferred } from '../util/deferred';
import { DIR, FILE } from '../walk/entry-meta';
import { joinPath } from '../walk/selection';
import { type DirectoryListing } from '../walk/tree-walker';
import { CHUNK_MAX_CONTENT_BYTES, nextChunkLength, resumeIndex } from './chunk-cutter';
import { ChunkEntries } from './chunk-entries';
import { hashContent, hashFirstChunk, type FirstChunk } from './content-offer';
import { CreditWindow } from './credit-window';
import { sendDelta, type DeltaBasis } from './delta-sender';
import { sendContent, sendFile, type FileSendResult, type FileSendTarget, type SendMessage } from './file-sender';
import { ReadAhead } from './read-ahead';
import { ResendTracker } from './resend-tracker';
import { HeldSubtrees, subtreeFiles, type SubtreeProbe } from './held-subtrees';

export interface BackupSessionIdentity {
  readonly hostId: string;
  readonly runId: string;
  readonly credential: string;
  readonly agentVersion: string;
}

/** What the transfer tells its caller as it goes (counters, logs, checkpoint). */
export interface BackupTransferEvents {
  onWait(position: number): void;
  onWelcome(welcome: WelcomeMessage): void;
  /** A chunk went out: its regular files and their bytes join the totals. */
  onChunkSent(files: number, bytes: number): void;
  /** A directory's stored tree was reused (protocol 4 digest): its files count as sent and done. */
  onDirectoryReused(files: number, bytes: number): void;
  /** A file of directory `dir` is done: sent, or (`error`) not backed up. */
  onFileDone(dir: Buffer, name: Buffer, size: bigint, error: string | null): void;
  /** Entries of a chunk the receiver took unchanged from the previous snapshot (their content not sent), and their bytes. */
  onFilesUnchanged(files: number, bytes: number): void;
  onBytesSent(bytes: number): void;
  /** A chunk is durable: `lastEntry` names its last entry (null for an empty chunk); the resume point moves there. */
  onCommitted(dir: Buffer, dirComplete: boolean, lastEntry: Buffer | null): void;
}

/**
 * Chunks sent whose file content is not sent yet; bounds memory when credit is generous. Directory digests do not
 * count (they carry no content, and MAX_PROBES_IN_FLIGHT bounds them): a large file's delta or upload, while it
 * streams, must not keep the directories walked after it from being sent and planned.
 */
const MAX_CHUNKS_IN_FLIGHT = 64;
/**
 * File content sent (by lstat size, Whole files that are not offered) in chunks not yet committed. Each committed
 * chunk is a resume point, so this bounds what a failure makes the next attempt send again; twice the chunk content
 * limit lets one chunk be sent while the previous one is being made durable. A larger chunk (one big file) goes
 * alone. Offered files do not count: the next attempt offers them again and sends only what the repository does
 * not hold yet (nothing, or what follows their stored leading chunks), so the file after a large one need not
 * wait for the large one's commit (on a fast link that wait idles it for a flush and a journal write).
 */
export const MAX_UNCOMMITTED_CONTENT_BYTES = 2 * CHUNK_MAX_CONTENT_BYTES;

interface SentChunk {
  readonly seq: number;
  readonly dir: Buffer;
  readonly entries: ChunkEntries;
  readonly plan: Deferred<ChunkPlanMessage>;
  /** Set when the plan arrives. */
  actions: readonly PlanAction[] | null;
  /** What the receiver sent of the basis of each entry planned Delta, by entry index. */
  readonly signatures: Map<number, DeltaBasis>;
}

/** Directory digests sent and not answered yet, at most; their listings wait in memory for the answer. */
const MAX_PROBES_IN_FLIGHT = 256;

/** A directory named by its digest, waiting for the receiver's answer (its chunks follow if not reused). */
interface Probe {
  readonly seq: number;
  readonly subtree: SubtreeProbe;
  readonly reused: Deferred<boolean>;
}

/**
 * How long the first directories are held before their probes go out: long enough for the parents of the first
 * small directories to come, short enough that a changed tree's first misses (and their content) start early.
 */
export const FIRST_PROBE_HOLD_MS = 10;
/** Entries of the listings held back at most (about 150 bytes each); more sends the held probes at once. */
const MAX_HELD_ENTRIES = 100_000;

/** Files planned Whole from this size up are offered by their chunk hashes first (they are streamed, not read ahead). */
const OFFER_MIN_BYTES = 1024 * 1024 + 1;

export class BackupTransfer {
  private readonly welcome = deferred<WelcomeMessage>();
  private readonly done = deferred<DoneMessage>();
  private readonly failure = deferred<never>();
  /** Rejects the steps being awaited through guard(), all at once when the session fails. */
  private readonly guarded = new Set<(error: Error) => void>();
  private readonly plans = new Map<number, SentChunk>();
  private readonly outbox = new AsyncQueue<SentChunk>();
  private credit = new CreditWindow(0, 0);
  private welcomed = false;
  private waitTimersApplied = false;
  /** Partly committed directories (from Welcome): name of the last committed entry, by directory path. */
  private readonly resumeAfter = new Map<string, Buffer>();
  /** Content bytes of chunks whose content went out and that are not committed yet, by seq. */
  private readonly uncommitted = new Map<number, number>();
  private uncommittedBytes = 0;
  /** Last entry name of each chunk sent and not yet committed (for the checkpoint). */
  private readonly lastEntries = new Map<number, Buffer | null>();
  private finishSent = false;
  private nextSeq = 0;
  /** Highest seq whose file content has been fully sent (-1: none). */
  private dataDoneSeq = -1;
  /** Directory chunks (not digests) sent whose file content is not all sent yet. */
  private chunksInFlight = 0;
  private failed: AgentError | null = null;
  private readonly readAhead = new ReadAhead();
  /** Next chunk whose planned files go to the read-ahead (plans are queued in seq order). */
  private nextReadAheadSeq = 0;
  /** Signature frames of entries whose plan has not arrived yet (key seq/index). */
  private readonly pendingSignatures = new Map<string, { frames: Buffer[]; complete: boolean; basisChunks: Buffer | null }>();
  /** Chunks with a delta file, until committed: until then the receiver may ask for a file again. */
  private readonly deltaChunks = new Map<number, SentChunk>();
  private readonly resends: Array<{ chunk: SentChunk; index: number }> = [];
  private readonly offerReplies = new Map<string, Deferred<OfferReplyMessage>>();
  private wakeContent: (() => void) | null = null;
  private readonly probes: Probe[] = [];
  private readonly probeReplies = new Map<number, Probe>();
  /** Probes held back while their parents may still come (see HeldSubtrees). */
  private readonly held = new HeldSubtrees();
  /** When the first probe was held (the first ones go out FIRST_PROBE_HOLD_MS later). */
  private firstHeldAt: number | null = null;
  /** Held probes went out once: from then on they are held while every answer is a hit. */
  private heldProbesSent = false;
  /** A probe missed: the tree changed, so each directory's probe goes out as soon as it is walked (none held). */
  private probeMissed = false;
  /** Seqs of directory digests: no plan, no content; the read-ahead steps over them. */
  private readonly contentless = new Set<number>();
  /**
   * Large files planned Whole, in send order, whose first chunk is not hashed yet; and the first chunks being
   * hashed (the next file's while the current one is on the wire). A first-chunk offer goes out as soon as its
   * hash is ready, ahead of the content before it, so its answer is back before the link would idle for it.
   */
  private readonly toHash: FileSendTarget[] = [];
  private readonly firstChunks = new Map<string, Promise<FirstChunk | null>>();
  /**
   * Settles once the last file hashed ahead has been offered (or found not to be). Offers ahead go out in send
   * order whichever hash finishes first: a later copy of an earlier file must see that file's first chunk among
   * the offered ones, or it would be offered ahead, answered "unknown" and sent a second time.
   */
  private lastOfferAhead: Promise<unknown> = Promise.resolve();
  /** A first chunk is being hashed ahead (prefetchHashes). */
  private hashingAhead = false;
  /** First chunks (hex) of the large files offered in this session. */
  private readonly offeredFirstChunks = new Set<string>();
  /**
   * On a host's first backup (Welcome.previousSnapshot false) the receiver has nothing to compare with and plans
   * every regular file Whole and every other entry Skip: the agent takes that plan when it sends the chunk instead
   * of a round trip later. The plans so taken, by seq, until the receiver's ChunkPlan confirms them.
   */
  private readonly foreseenPlans = new Map<number, readonly PlanAction[]>();
  private wakeForeseen: (() => void) | null = null;

  constructor(
    private readonly connection: FramedConnection,
    private readonly identity: BackupSessionIdentity,
    private readonly events: BackupTransferEvents,
    private readonly signal: AbortSignal,
    /** Counts content sent again (what earlier attempts had sent); learns their reach from Welcome too. */
    private readonly resent: ResendTracker = new ResendTracker(null, false),
    /** How long the first directory probes are held (FIRST_PROBE_HOLD_MS; tests make it long to hold them all). */
    private readonly firstProbeHoldMs = FIRST_PROBE_HOLD_MS,
  ) {}

  /**
   * Runs the whole session. `walk` is called once Welcome names the directories to skip.
   * `started` (the controller's answer to runStart, asked meanwhile) must resolve before Finish: content flows as
   * soon as the receiver has verified the run with the controller and sent Welcome, but no snapshot is published for
   * an attempt the controller has not recorded. When it rejects, the session ends at once with its error (even while
   * waiting in the receiver's line). Resolves with Done; rejects with an AgentError.
   */
  async run(walk: (skipDirs: readonly Buffer[]) => AsyncIterable<DirectoryListing>, started: Promise<unknown> = Promise.resolve()): Promise<DoneMessage> {
    const onAbort = (): void => {
      this.fail(new AgentError(AgentErrorCode.Interrupted, 'backup interrupted: the agent is stopping'));
    };
    if (this.signal.aborted) onAbort();
    this.signal.addEventListener('abort', onAbort, { once: true });
    started.catch((error: unknown) => this.fail(sessionError(error, 'starting the attempt')));
    const reading = this.readLoop();
    try {
      await this.guard(this.send({ type: MessageType.Hello, protocol: PROTOCOL_VERSION, role: 'backup', ...this.identity }));
      const welcome = await this.guard(this.welcome.promise);
      this.connection.configureTimers({ heartbeatMs: welcome.heartbeatMs, idleTimeoutMs: welcome.idleTimeoutMs });
      this.connection.setMaxFrameBytes(welcome.maxFrameBytes);
      this.credit = new CreditWindow(welcome.creditBytes, welcome.creditOps);
      for (const { dir, after } of welcome.resumeDirs) this.resumeAfter.set(dir.toString('latin1'), after);
      this.resent.learn(welcome.sentThrough);
      this.events.onWelcome(welcome);
      await Promise.all([this.produce(walk(welcome.committedDirs), welcome), this.sendContent()]);
      await this.foreseenConfirmed();
      await this.guard(started);
      this.finishSent = true;
      await this.guard(this.send({ type: MessageType.Finish }));
      const done = await this.guard(this.done.promise);
      this.connection.close();
      return done;
    } catch (error) {
      throw this.fail(sessionError(error, 'backing up'));
    } finally {
      this.signal.removeEventListener('abort', onAbort);
      await reading;
    }
  }

  private async produce(listings: AsyncIterable<DirectoryListing>, welcome: WelcomeMessage): Promise<void> {
    const iterator = listings[Symbol.asyncIterator]();
    try {
      for (;;) {
        const next = iterator.next();
        // While the walk works on (a large directory's scan, say), held probes go out when they are due and the
        // answers are acted on as they come: a miss's chunks (and content) need not wait for the next listing.
        for (;;) {
          const head = this.probes[0];
          const event = await firstOf(next, head === undefined ? null : this.guard(head.reused.promise), this.held.size === 0 ? Number.POSITIVE_INFINITY : this.holdDeadline() - Date.now());
          if (event === 'next') break;
          if (event === 'due') await this.sendHeld(welcome);
          else await this.settleProbes(MAX_PROBES_IN_FLIGHT, welcome);
        }
        const step = await next;
        if (step.done === true) break;
        const listing = step.value;
        if (this.failed !== null) throw this.failed;
        // No probe can match when the receiver holds no previous snapshot of the host (a first backup): none is sent.
        const digest = welcome.previousSnapshot === false ? null : listing.digest;
        if (digest !== null && !this.resumeAfter.has(listing.path.toString('latin1'))) {
          this.firstHeldAt ??= Date.now();
          this.held.add(listing, digest);
          if (this.probeMissed || this.held.heldEntries > MAX_HELD_ENTRIES) await this.sendHeld(welcome);
        } else {
          // Chunks must follow those of every directory probed before (a parent's entries name its subdirectories).
          await this.sendHeld(welcome);
          await this.settleProbes(0, welcome);
          await this.sendDirectory(listing, welcome);
        }
      }
      await this.sendHeld(welcome);
      await this.settleProbes(0, welcome);
    } finally {
      // As a for-await loop would on leaving early: the walk is told to stop (no-op when it is over).
      void iterator.return?.()?.catch(() => undefined);
      this.outbox.close();
    }
  }

  /**
   * When the held probes go out: the first ones after FIRST_PROBE_HOLD_MS; later ones, while every answer was a
   * hit, only when the walk ends (or too much is held); after a miss at once (holding is not done then).
   */
  private holdDeadline(): number {
    if (this.probeMissed) return 0;
    if (this.heldProbesSent) return Number.POSITIVE_INFINITY;
    return (this.firstHeldAt ?? Date.now()) + this.firstProbeHoldMs;
  }

  /** Sends the probes of the held subtrees (their held descendants wait for the answers). */
  private async sendHeld(welcome: WelcomeMessage): Promise<void> {
    if (this.held.size === 0) return;
    this.heldProbesSent = true;
    for (const subtree of this.held.take()) {
      this.probes.push(await this.probe(subtree));
      await this.settleProbes(MAX_PROBES_IN_FLIGHT, welcome);
    }
  }

  /**
   * Names a directory by its digest instead of sending its entries. The answers are awaited in order, later:
   * a miss then sends the directory's chunks, so they still come before those of its parent.
   */
  private async probe(subtree: SubtreeProbe): Promise<Probe> {
    const { listing, digest } = subtree;
    const seq = this.nextSeq++;
    const planned: ChunkPlanMessage = { type: MessageType.ChunkPlan, seq, actions: [] };
    const chunk: SentChunk = { seq, dir: listing.path, entries: new ChunkEntries(listing.list, 0, 0), plan: deferred(), actions: planned.actions, signatures: new Map() };
    chunk.plan.resolve(planned);
    this.contentless.add(seq);
    this.lastEntries.set(seq, listing.lastName());
    this.outbox.push(chunk);
    const probe: Probe = { seq, subtree, reused: deferred() };
    this.probeReplies.set(seq, probe);
    await this.guard(this.send({ type: MessageType.DirDigest, seq, dir: listing.path, digest }));
    return probe;
  }

  /** Takes the answers of the oldest probes until at most `keep` are outstanding; sends the misses' chunks. */
  private async settleProbes(keep: number, welcome: WelcomeMessage): Promise<void> {
    for (let head = this.probes[0]; head !== undefined; head = this.probes[0]) {
      if (this.probes.length <= keep && !head.reused.settled) return;
      const reused = await this.guard(head.reused.promise);
      this.probes.shift();
      await this.settleProbe(head.subtree, reused, welcome);
    }
  }

  /**
   * A hit stands for the whole held subtree. A miss sends the held subdirectories' probes (all at once, answers
   * taken in order, each settled the same way), then the directory's own chunks: post-order, as the walk's.
   */
  private async settleProbe(subtree: SubtreeProbe, reused: boolean, welcome: WelcomeMessage): Promise<void> {
    if (reused) {
      const { files, bytes } = subtreeFiles(subtree);
      this.events.onDirectoryReused(files, bytes);
      return;
    }
    this.probeMissed = true;
    const children: Probe[] = [];
    for (const child of subtree.children) children.push(await this.probe(child));
    for (const child of children) await this.settleProbe(child.subtree, await this.guard(child.reused.promise), welcome);
    await this.sendDirectory(subtree.listing, welcome);
  }

  private async sendDirectory(listing: DirectoryListing, welcome: WelcomeMessage): Promise<void> {
    const { path: dir, list } = listing;
    // A directory partly committed by an earlier attempt continues after its last committed entry.
    let start = resumeIndex(list, this.resumeAfter.get(dir.toString('latin1')));
    do {
      const wanted = nextChunkLength(list, start, dir, welcome.chunkMaxEntries, welcome.chunkMaxBytes);
      const length = await this.guard(this.credit.takeOps(wanted, () => this.pipelineIdle()));
      await this.guard(this.roomInFlight());
      const chunk: SentChunk = { seq: this.nextSeq++, dir, entries: new ChunkEntries(list, start, length), plan: deferred(), actions: null, signatures: new Map() };
      start += length;
      this.plans.set(chunk.seq, chunk);
      this.chunksInFlight += 1;
      this.lastEntries.set(chunk.seq, chunk.entries.lastName());
      this.outbox.push(chunk);
      const packed = chunk.entries.pack();
      const sent = this.send({ type: MessageType.PackedChunk, seq: chunk.seq, dir, count: length, packed, last: start >= list.length });
      // Taken as soon as the frame is queued, not once the send resolves: under backpressure that waits for the write
      // buffer to drain, and the receiver's plan may be read before it.
      if (welcome.previousSnapshot === false) this.foresee(chunk);
      await this.guard(sent);
      const { files, bytes } = chunk.entries.regularFiles();
      this.events.onChunkSent(files, bytes);
    } while (start < list.length);
  }

  private async sendContent(): Promise<void> {
    for (;;) {
      await this.untilNextChunk();
      const chunk = await this.guard(this.outbox.shift());
      if (chunk === null) return this.settleDeltas();
      const plan = await this.guard(chunk.plan.promise);
      const content = wholeContentBytes(chunk.entries, plan.actions);
      await this.roomUncommitted(content);
      if (content > 0) {
        this.uncommitted.set(chunk.seq, content);
        this.uncommittedBytes += content;
      }
      const send: SendMessage = (message, onWritten) => this.guard(this.send(message, onWritten));
      const { entries } = chunk;
      // Most entries of a changed directory are unchanged: counted together, before anything is sent (no name, no
      // path, no await for them).
      const unchanged = unchangedFiles(entries, plan.actions);
      if (unchanged.files > 0) this.events.onFilesUnchanged(unchanged.files, unchanged.bytes);
      for (let index = 0; index < entries.length; index++) {
        const action = plan.actions[index];
        if (action !== PlanAction.Delta && action !== PlanAction.Whole) continue;
        if (this.resends.length > 0) await this.sendResends();
        const name = entries.name(index);
        const path = joinPath(chunk.dir, name);
        if (action === PlanAction.Delta) {
          const target = { seq: chunk.seq, index, path, expectedSize: entries.size(index) };
          const onBytesSent = this.countSent(chunk.dir, name, null);
          const result = await sendDelta(target, chunk.signatures.get(index) as DeltaBasis, this.credit, send, onBytesSent);
          this.events.onFileDone(chunk.dir, name, result.size, result.error);
          continue;
        }
        const ahead = this.readAhead.take();
        if (ahead.target.seq !== chunk.seq || ahead.target.index !== index) throw new Error(`read-ahead out of order at ${chunk.seq}/${index}`);
        const result =
          ahead.content === null
            ? await this.sendLargeFile(ahead.target, chunk.dir, name, send)
            : await sendContent(ahead.target, await this.guard(ahead.content), this.credit, send, this.countSent(chunk.dir, name, 0n));
        this.events.onFileDone(chunk.dir, name, result.size, result.error);
      }
      if (this.plans.delete(chunk.seq)) this.chunksInFlight -= 1;
      this.dataDoneSeq = chunk.seq;
      this.credit.wake();
      this.wakeInFlight?.();
    }
  }

  /**
   * A streamed file: offered by its first chunk's hash, sent at once when the repository does not hold that chunk;
   * otherwise offered by all its chunk hashes, sent only when the repository does not hold the file, and then only
   * after the leading chunks it holds (a file an earlier attempt sent in part resumes there).
   */
  private async sendLargeFile(target: FileSendTarget, dir: Buffer, name: Buffer, send: SendMessage): Promise<FileSendResult> {
    const key = `${target.seq}/${target.index}`;
    const prefetched = this.firstChunks.get(key);
    this.firstChunks.delete(key);
    this.prefetchHashes();
    const first = target.expectedSize >= OFFER_MIN_BYTES ? await this.guard(prefetched ?? hashFirstChunk(target.path)) : null;
    if (first === null) return sendFile(target, this.credit, send, this.countSent(dir, name, 0n));
    if (!this.offerReplies.has(key)) this.offerFirstChunk(target, first);
    const firstReply = await this.takeOfferReply(key);
    if (firstReply.known || firstReply.heldChunks > 1) {
      throw this.protocol(`OfferReply for entry ${target.index} of chunk ${target.seq} answers more than the first chunk it was offered`);
    }
    if (firstReply.heldChunks === 0) return sendFile(target, this.credit, send, this.countSent(dir, name, 0n));
    // The repository holds the first chunk: the file may be stored whole, or in part by an earlier attempt.
    const hashes = await this.guard(hashContent(target.path));
    if (hashes === null) return sendFile(target, this.credit, send, this.countSent(dir, name, 0n));
    const reply = deferred<OfferReplyMessage>();
    this.offerReplies.set(key, reply);
    await send({ type: MessageType.ContentOffer, seq: target.seq, index: target.index, size: hashes.size, sha256: hashes.sha256, chunks: hashes.chunks });
    const { known, heldChunks } = await this.takeOfferReply(key);
    if (known) {
      await send({ type: MessageType.FileEnd, seq: target.seq, index: target.index, size: hashes.size, sha256: hashes.sha256, error: null });
      return { size: hashes.size, error: null };
    }
    if (heldChunks === 0) return sendFile(target, this.credit, send, this.countSent(dir, name, 0n));
    if (heldChunks >= hashes.chunks.length) throw this.protocol(`OfferReply for entry ${target.index} of chunk ${target.seq} holds ${heldChunks} of ${hashes.chunks.length} chunks but not the file`);
    return sendFile(target, this.credit, send, this.countSent(dir, name, BigInt(heldChunks * CONTENT_CHUNK_BYTES)), hashes.chunks.slice(0, heldChunks));
  }

  /** Sends a first-chunk offer without waiting (its reply is taken by takeOfferReply); a failed send fails the session. */
  private offerFirstChunk(target: FileSendTarget, first: FirstChunk): void {
    this.offeredFirstChunks.add(first.chunk.toString('hex'));
    this.offerReplies.set(`${target.seq}/${target.index}`, deferred<OfferReplyMessage>());
    const offer: Message = { type: MessageType.ContentOffer, seq: target.seq, index: target.index, size: first.size, sha256: Buffer.alloc(32), chunks: [first.chunk] };
    this.guard(this.send(offer)).catch(() => undefined);
  }

  /**
   * Offers a file ahead of its turn once its first chunk is hashed, unless an earlier large file of this session
   * starts the same way: that one may not be stored yet when the offer is answered, so this offer waits for its
   * turn, when the earlier file is in the repository and the offer finds it (dedup within a run).
   */
  private offerAhead(target: FileSendTarget, first: FirstChunk | null): void {
    if (first === null || this.failed !== null || this.offeredFirstChunks.has(first.chunk.toString('hex'))) return;
    this.offerFirstChunk(target, first);
  }

  private async takeOfferReply(key: string): Promise<OfferReplyMessage> {
    const reply = await this.guard((this.offerReplies.get(key) as Deferred<OfferReplyMessage>).promise);
    this.offerReplies.delete(key);
    return reply;
  }

  /** The callback for the bytes of one file's content: the run's counters and the re-sent count. */
  private countSent(dir: Buffer, name: Buffer, start: bigint | null): (bytes: number) => void {
    const resent = this.resent.file(dir, name, start);
    return (bytes) => {
      resent(bytes);
      this.events.onBytesSent(bytes);
    };
  }

  /**
   * Hashes the first chunk of the next large file, and offers it ahead, unless one is already hashed ahead, or being
   * hashed: the next one starts when that hash is done, not when its file is taken. Started together, the two shared
   * the disk and the CPU, and the first byte of a session waited for both.
   */
  private prefetchHashes(): void {
    while (this.firstChunks.size < 1 && !this.hashingAhead) {
      const next = this.toHash.shift();
      if (next === undefined) return;
      this.hashingAhead = true;
      const hashed = hashFirstChunk(next.path).finally(() => {
        this.hashingAhead = false;
        if (this.failed === null) this.prefetchHashes();
      });
      const first = Promise.all([hashed, this.lastOfferAhead]).then(([chunk]) => {
        this.offerAhead(next, chunk);
        return chunk;
      });
      this.lastOfferAhead = first.catch(() => undefined);
      this.firstChunks.set(`${next.seq}/${next.index}`, first);
    }
  }

  /** Files whose delta the receiver could not apply, sent again whole. */
  private async sendResends(): Promise<void> {
    const send: SendMessage = (message, onWritten) => this.guard(this.send(message, onWritten));
    for (let next = this.resends.shift(); next !== undefined; next = this.resends.shift()) {
      const name = next.chunk.entries.name(next.index);
      const target = { seq: next.chunk.seq, index: next.index, path: joinPath(next.chunk.dir, name), expectedSize: next.chunk.entries.size(next.index) };
      await sendFile(target, this.credit, send, this.countSent(next.chunk.dir, name, 0n));
    }
  }

  /**
   * Waits for the next chunk to send, serving Resends meanwhile: the producer may be waiting for entry credit
   * that only the commit of a chunk holding a resent file can give back.
   */
  private async untilNextChunk(): Promise<void> {
    for (;;) {
      await this.sendResends();
      const ready = this.outbox.whenReady().then(() => true);
      const resend = new Promise<boolean>((resolve) => (this.wakeContent = () => resolve(false)));
      const chunkReady = await this.guard(Promise.race([ready, resend]));
      this.wakeContent = null;
      if (chunkReady) return;
    }
  }

  /**
   * Waits until the content of `content` more bytes keeps the uncommitted content within its bound (or nothing is
   * uncommitted), serving Resends meanwhile: a chunk holding a delta commits only once its resends are served.
   */
  private async roomUncommitted(content: number): Promise<void> {
    for (;;) {
      await this.sendResends();
      if (this.uncommittedBytes === 0 || this.uncommittedBytes + content <= MAX_UNCOMMITTED_CONTENT_BYTES) return;
      if (this.failed !== null) throw this.failed;
      await this.guard(new Promise<void>((resolve) => (this.wakeContent = resolve)));
      this.wakeContent = null;
    }
  }

  /** After the last file: every chunk with a delta must be committed (or its file resent) before Finish. */
  private async settleDeltas(): Promise<void> {
    for (;;) {
      await this.sendResends();
      if (this.deltaChunks.size === 0) return;
      if (this.failed !== null) throw this.failed;
      await this.guard(new Promise<void>((resolve) => (this.wakeContent = resolve)));
      this.wakeContent = null;
    }
  }

  /** True when the agent has nothing left to push: more credit can only come from the receiver's own pace. */
  private pipelineIdle(): boolean {
    return this.dataDoneSeq === this.nextSeq - 1;
  }

  private wakeInFlight: (() => void) | null = null;

  private async roomInFlight(): Promise<void> {
    while (this.chunksInFlight >= MAX_CHUNKS_IN_FLIGHT) {
      if (this.failed !== null) throw this.failed;
      await new Promise<void>((resolve) => (this.wakeInFlight = resolve));
      this.wakeInFlight = null;
    }
  }

  private async readLoop(): Promise<void> {
    try {
      for await (const message of this.connection) {
        this.dispatch(message);
        if (this.failed !== null) break;
      }
      if (!this.done.settled) this.fail(new AgentError(AgentErrorCode.ReceiverUnavailable, 'the receiver closed the session before the backup was done'));
    } catch (error) {
      this.fail(sessionError(error, this.welcomed ? 'backing up' : 'waiting for admission'));
    }
  }

  private dispatch(message: Message): void {
    switch (message.type) {
      case MessageType.Wait:
        if (this.welcomed) throw this.protocol('Wait after Welcome');
        // Once is enough: re-arming on every Wait would keep postponing the first heartbeat.
        if (message.timers !== null && !this.waitTimersApplied) {
          this.waitTimersApplied = true;
          this.connection.configureTimers(message.timers);
        }
        this.events.onWait(message.position);
        return;
      case MessageType.Welcome:
        if (this.welcomed) throw this.protocol('a second Welcome');
        this.welcomed = true;
        this.welcome.resolve(message);
        return;
      case MessageType.Credit:
        if (!this.welcomed) throw this.protocol('Credit before Welcome');
        this.credit.grant(message.bytes, message.ops);
        return;
      case MessageType.ChunkPlan:
        this.acceptPlan(message);
        return;
      case MessageType.Committed:
        if (!this.welcomed) throw this.protocol('Committed before Welcome');
        // Chunks commit in seq order: this one and every earlier one are settled.
        for (const seq of this.deltaChunks.keys()) if (seq <= message.seq) this.deltaChunks.delete(seq);
        for (const [seq, bytes] of this.uncommitted) {
          if (seq > message.seq) break;
          this.uncommitted.delete(seq);
          this.uncommittedBytes -= bytes;
        }
        this.wakeContent?.();
        this.events.onCommitted(message.dir, message.dirComplete, this.takeLastEntry(message.seq));
        return;
      case MessageType.Signature:
        this.acceptSignature(message);
        return;
      case MessageType.Resend: {
        const chunk = this.deltaChunks.get(message.seq);
        if (chunk?.actions?.[message.index] !== PlanAction.Delta) throw this.protocol(`Resend of entry ${message.index} of chunk ${message.seq}, which was not sent as a delta`);
        if (this.resends.some((r) => r.chunk === chunk && r.index === message.index)) throw this.protocol(`a second Resend of entry ${message.index} of chunk ${message.seq}`);
        this.resends.push({ chunk, index: message.index });
        this.wakeContent?.();
        return;
      }
      case MessageType.OfferReply:
        this.acceptOfferReply(message);
        return;
      case MessageType.DigestReply:
        this.acceptDigestReply(message);
        return;
      case MessageType.Done:
        if (!this.finishSent) throw this.protocol('Done before Finish');
        this.done.resolve(message);
        return;
      default:
        throw this.protocol(`unexpected message type ${message.type} in a backup session`);
    }
  }

  /** The last entry name of a committed chunk; forgets it and those of earlier chunks. */
  private takeLastEntry(committedSeq: number): Buffer | null {
    const name = this.lastEntries.get(committedSeq) ?? null;
    for (const seq of this.lastEntries.keys()) {
      if (seq > committedSeq) break;
      this.lastEntries.delete(seq);
    }
    return name;
  }

  /**
   * A first backup's plan, taken when the chunk is sent (see foreseenPlans): its content may then go out before the
   * receiver's plan arrives, which is safe because the receiver reads the chunk before anything that follows it.
   */
  private foresee(chunk: SentChunk): void {
    if (chunk.plan.settled) return;
    const actions = Array.from({ length: chunk.entries.length }, (_, index) => (chunk.entries.type(index) === FILE ? PlanAction.Whole : PlanAction.Skip));
    this.foreseenPlans.set(chunk.seq, actions);
    chunk.actions = actions;
    chunk.plan.resolve({ type: MessageType.ChunkPlan, seq: chunk.seq, actions });
    this.feedReadAhead();
  }

  /** Content sent on plans taken in advance goes to no snapshot before the receiver's plans have confirmed them all. */
  private async foreseenConfirmed(): Promise<void> {
    while (this.foreseenPlans.size > 0) {
      const confirmed = deferred<void>();
      this.wakeForeseen = () => confirmed.resolve();
      await this.guard(confirmed.promise);
    }
    this.wakeForeseen = null;
  }

  private acceptPlan(plan: ChunkPlanMessage): void {
    const foreseen = this.foreseenPlans.get(plan.seq);
    if (foreseen !== undefined) {
      this.foreseenPlans.delete(plan.seq);
      this.wakeForeseen?.();
      const differs = plan.actions.length === foreseen.length ? plan.actions.findIndex((action, index) => action !== foreseen[index]) : -2;
      if (differs !== -1) {
        const what = differs === -2 ? `${plan.actions.length} actions for ${foreseen.length} entries` : `action ${plan.actions[differs]} for entry ${differs}`;
        throw this.protocol(`ChunkPlan ${plan.seq} has ${what}, where a host's first backup plans every regular file Whole and nothing else`);
      }
      return;
    }
    const chunk = this.plans.get(plan.seq);
    if (chunk === undefined || chunk.plan.settled) throw this.protocol(`ChunkPlan for unknown or already planned chunk ${plan.seq}`);
    if (plan.actions.length !== chunk.entries.length) {
      throw this.protocol(`ChunkPlan ${plan.seq} has ${plan.actions.length} actions for ${chunk.entries.length} entries`);
    }
    plan.actions.forEach((action, index) => {
      if (action !== PlanAction.Skip && !chunk.entries.isFile(index)) {
        throw this.protocol(`ChunkPlan ${plan.seq} asks for the content of entry ${index}, which is not a regular file`);
      }
      const key = `${plan.seq}/${index}`;
      const signature = this.pendingSignatures.get(key);
      this.pendingSignatures.delete(key);
      if (action !== PlanAction.Delta) {
        if (signature !== undefined) throw this.protocol(`Signature for entry ${index} of chunk ${plan.seq}, which is not planned as a delta`);
        return;
      }
      if (signature?.complete !== true) throw this.protocol(`ChunkPlan ${plan.seq} plans entry ${index} as a delta without its whole signature`);
      chunk.signatures.set(index, { signature: Buffer.concat(signature.frames), basisChunks: signature.basisChunks });
      this.deltaChunks.set(plan.seq, chunk);
    });
    chunk.actions = plan.actions;
    chunk.plan.resolve(plan);
    this.feedReadAhead();
  }

  private acceptSignature(message: SignatureMessage): void {
    if (this.foreseenPlans.has(message.seq)) {
      throw this.protocol(`Signature for entry ${message.index} of chunk ${message.seq} on a host's first backup, which has no previous version to sign`);
    }
    const chunk = this.plans.get(message.seq);
    if (chunk === undefined || chunk.plan.settled || !chunk.entries.isFile(message.index)) {
      throw this.protocol(`Signature for entry ${message.index} of chunk ${message.seq}, which awaits no plan or is not a regular file`);
    }
    const key = `${message.seq}/${message.index}`;
    const pending = this.pendingSignatures.get(key) ?? { frames: [], complete: false, basisChunks: null };
    if (pending.complete) throw this.protocol(`Signature frames for entry ${message.index} of chunk ${message.seq} after its last one`);
    pending.frames.push(Buffer.from(message.data));
    pending.complete = message.last;
    if (message.basisChunks !== null) pending.basisChunks = Buffer.from(message.basisChunks);
    this.pendingSignatures.set(key, pending);
  }

  private acceptOfferReply(message: OfferReplyMessage): void {
    const reply = this.offerReplies.get(`${message.seq}/${message.index}`);
    if (reply === undefined || reply.settled) throw this.protocol(`OfferReply for entry ${message.index} of chunk ${message.seq}, which was not offered`);
    reply.resolve(message);
  }

  private acceptDigestReply(message: DigestReplyMessage): void {
    const probe = this.probeReplies.get(message.seq);
    if (probe === undefined) throw this.protocol(`DigestReply for ${message.seq}, which is not an unanswered directory digest`);
    this.probeReplies.delete(message.seq);
    probe.reused.resolve(message.reused);
  }

  /** Queues the files of planned chunks, in seq order, for reading ahead. */
  private feedReadAhead(): void {
    for (;;) {
      if (this.contentless.delete(this.nextReadAheadSeq)) {
        this.nextReadAheadSeq += 1;
        continue;
      }
      const chunk = this.plans.get(this.nextReadAheadSeq);
      if (chunk === undefined || chunk.actions === null) return;
      chunk.actions.forEach((action, index) => {
        if (action !== PlanAction.Whole) return;
        const size = chunk.entries.size(index);
        const target = { seq: chunk.seq, index, path: joinPath(chunk.dir, chunk.entries.name(index)), expectedSize: size };
        this.readAhead.add(target);
        if (size >= OFFER_MIN_BYTES) this.toHash.push(target);
      });
      this.prefetchHashes();
      this.nextReadAheadSeq += 1;
    }
  }

  private protocol(message: string): AgentError {
    const error = protocolError(message);
    this.fail(error);
    return error;
  }

  private send(message: OutgoingMessage, onWritten?: () => void): Promise<void> {
    return this.connection.send(message, onWritten);
  }

  /**
   * Races a step against the session's failure, so nothing waits forever on a dead session. Not Promise.race with
   * the failure promise: every race would leave a reaction on that promise until the session ends, hundreds of
   * thousands of them over a large backup (a few per file), all kept alive for the garbage collector to trace.
   */
  private guard<T>(promise: Promise<T>): Promise<T> {
    if (this.failed !== null) {
      promise.catch(() => undefined);
      return this.failure.promise;
    }
    return new Promise<T>((resolve, reject) => {
      this.guarded.add(reject);
      promise.then(
        (value) => {
          this.guarded.delete(reject);
          resolve(value);
        },
        (error: unknown) => {
          this.guarded.delete(reject);
          reject(error instanceof Error ? error : new Error(String(error)));
        },
      );
    });
  }

  private fail(error: AgentError): AgentError {
    if (this.failed !== null) return this.failed;
    this.failed = error;
    this.failure.reject(error);
    for (const reject of this.guarded) reject(error);
    this.guarded.clear();
    this.credit.fail(error);
    this.wakeInFlight?.();
    for (const chunk of this.plans.values()) chunk.plan.reject(error);
    this.connection.close(closeReason(error));
    return error;
  }
}

/** What the receiver is told when the agent ends the session: why, when it is the agent's decision. */
function closeReason(error: AgentError): WireError | null {
  if (error.code === AgentErrorCode.Interrupted) return new WireError(ErrorCode.ShuttingDown, error.message);
  if (error.code === AgentErrorCode.Protocol) return WireError.protocol(error.message);
  return null;
}

/** Non-directory entries of a chunk whose content the plan does not ask for, and their bytes. */
function unchangedFiles(entries: ChunkEntries, actions: readonly PlanAction[]): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  actions.forEach((action, index) => {
    if (action === PlanAction.Delta || action === PlanAction.Whole || entries.type(index) === DIR) return;
    files += 1;
    bytes += entries.fileBytes(index);
  });
  return { files, bytes };
}

/** Bytes of the files of a chunk planned Whole and not offered (a delta's data is small and not counted). */
function wholeContentBytes(entries: ChunkEntries, actions: readonly PlanAction[]): number {
  let bytes = 0;
  actions.forEach((action, index) => {
    if (action !== PlanAction.Whole) return;
    const size = entries.fileBytes(index);
    if (size < OFFER_MIN_BYTES) bytes += size;
  });
  return bytes;
}

/**
 * Which comes first: `next` settling, `answer` settling (null: none awaited), or `ms` passing ('due' at once when
 * not positive, never when infinite).
 */
function firstOf(next: Promise<unknown>, answer: Promise<unknown> | null, ms: number): Promise<'next' | 'answer' | 'due'> {
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | null = null;
    const settle = (event: 'next' | 'answer' | 'due'): void => {
      if (timer !== null) clearTimeout(timer);
      resolve(event);
    };
    // 'due' first when it already is: the later settle calls are no-ops.
    if (!(ms > 0)) settle('due');
    else if (ms !== Number.POSITIVE_INFINITY) timer = setTimeout(() => settle('due'), ms);
    next.then(() => settle('next'), () => settle('next'));
    answer?.then(() => settle('answer'), () => settle('answer'));
  });
}
