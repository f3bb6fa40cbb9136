/**
 * A receiver peer for agent tests: a real TCP server speaking the wire protocol through the real codec,
 * scripted to exercise the agent (admission waits, small credit, plans held back to prove pipelining,
 * resume points, errors) while checking every rule the agent must keep (credit never exceeded, content
 * in plan order, chunk limits). It stores what it receives in memory and can serve it back as a restore.
 */
import { alignedBlockLength, ContentHasher, decodeDelta, encodeSignature, patch, signature } from '@berth/delta';
import { createHash } from 'node:crypto';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import {
  EntryType,
  ErrorCode,
  FramedConnection,
  MessageType,
  PlanAction,
  PREVIOUS_SNAPSHOT_PROTOCOL_VERSION,
  WireError,
  joinPath,
  type ChunkMessage,
  type EntryMeta,
  type HelloMessage,
  type Message,
  type RestoreEntryMessage,
  type ResumeDir,
  type SentPosition,
} from '@berth/wire';
import { SocketReceiverConnector, type ReceiverConnector } from '../src/receiver/receiver-connector';

/** The ids of `data`'s 1 MiB content chunks, back to back (what a receiver sends a protocol 8 agent with a signature). */
export function contentChunkIds(data: Buffer): Buffer {
  const hasher = new ContentHasher().update(data);
  hasher.digest();
  return Buffer.concat(hasher.chunkIds);
}
export interface BackupScript {
  readonly waits?: number;
  readonly waitMs?: number;
  readonly committedDirs?: readonly Buffer[];
  readonly resumeDirs?: readonly ResumeDir[];
  readonly chunkMaxEntries?: number;
  readonly chunkMaxBytes?: number;
  readonly creditBytes?: number;
  readonly creditOps?: number;
  /** Plans are held back until this many chunks have arrived: an agent that waits for plans would hang. */
  readonly holdPlansUntilChunks?: number;
  /**
   * Each chunk is planned as it arrives, as the receiver does (its content may follow at once), but its ChunkPlan
   * goes out this much later, with the reading going on meanwhile: a receiver whose answers are slow to come back.
   */
  readonly planDelayMs?: number;
  /** Runs before a chunk's plan is sent (e.g. to remove a file the plan asks for). */
  readonly beforePlan?: (chunk: ChunkMessage) => Promise<void>;
  /** Messages sent ahead of a chunk's plan, as a faulty receiver would (e.g. a Signature for an entry the chunk lacks). */
  readonly beforePlanMessages?: (chunk: ChunkMessage) => readonly Message[];
  /** Delay before a completed chunk is acknowledged (Committed + Credit). */
  readonly commitDelayMs?: number;
  /** Like commitDelayMs, but reading goes on meanwhile (a receiver whose flushes run behind): acks stay in order. */
  readonly commitLagMs?: number;
  /** Ends the session with this error once this many chunks have arrived. */
  readonly failAfterChunks?: { readonly count: number; readonly code: ErrorCode; readonly message: string };
  /** Never answers Hello (to test interruption while waiting). */
  readonly silent?: boolean;
  /** Awaited before Welcome goes out (a receiver still verifying the session). */
  readonly beforeWelcome?: () => Promise<void>;
  /** Regular files (by path, latin1) planned Skip, as if the receiver had them unchanged. */
  readonly skipFiles?: ReadonlySet<string>;
  /** Previous versions by snapshot path (latin1): such files are planned Delta against them. */
  readonly deltaBases?: ReadonlyMap<string, Buffer>;
  /** Answer every delta with Resend once (as if it had not rebuilt the file). */
  readonly resendDeltas?: boolean;
  /** Basis chunk ids sent with a path's signature instead of its basis's own (a lying receiver). */
  readonly basisChunkIds?: ReadonlyMap<string, Buffer>;
  /** Answer ContentOffers with known: true for these whole-file SHA-256s (hex). */
  readonly knownContent?: ReadonlySet<string>;
  /** Stored leading part of a file (by path, latin1): offers of it are answered with that many held 1 MiB chunks. */
  readonly heldPrefixes?: ReadonlyMap<string, Buffer>;
  /** Runs before an OfferReply is sent (e.g. to change the offered file). */
  readonly beforeOfferReply?: (path: Buffer) => Promise<void>;
  /** Welcome's v3 sentThrough: how far earlier attempts got. */
  readonly sentThrough?: SentPosition;
  /** Welcome's v6 previousSnapshot (default true: the agent probes directories by their digests). */
  readonly previousSnapshot?: boolean;
  /** Answer DirDigest with reused: true for these directory paths (latin1); every other digest is a miss. */
  readonly reuseDirs?: ReadonlySet<string>;
}

export interface ReceivedFile {
  readonly path: Buffer;
  readonly content: Buffer;
  readonly error: string | null;
}

interface ChunkState {
  readonly chunk: ChunkMessage;
  pendingFiles: number;
  /** The actions decided for its entries; null until it is planned. */
  actions: PlanAction[] | null;
  planSent: boolean;
}

export class ScriptedReceiver implements ReceiverConnector {
  readonly chunks: ChunkMessage[] = [];
  readonly files = new Map<string, ReceivedFile>();
  readonly violations: string[] = [];
  readonly dataFrameSizes: number[] = [];
  /** Paths (latin1) offered by ContentOffer, whether known, and those asked for again by Resend. */
  readonly offers: Array<{ path: string; known: boolean; heldChunks: number }> = [];
  /**
   * First-chunk offers (v5), in order: the path, the first chunk's hash (hex), whether the receiver said it holds
   * it, and the file whose content was arriving meanwhile (latin1; null: none), i.e. whether it came ahead.
   */
  readonly firstChunkOffers: Array<{ path: string; chunk: string; held: boolean; during: string | null }> = [];
  readonly resent: string[] = [];
  /** Deltas that did not rebuild their file (answered with Resend), by path (latin1). */
  readonly rebuildFailures: string[] = [];
  /** FileData bytes received per path (latin1): a delta's encoded size. */
  readonly dataBytes = new Map<string, number>();
  hellos: HelloMessage[] = [];
  /** Directory digests received, in order, and whether they were reused. */
  readonly digests: Array<{ seq: number; dir: string; digest: string; reused: boolean }> = [];
  /** Most chunks received at once whose plans had not been sent yet. */
  maxUnplanned = 0;
  /** Content messages (type seq/index) that arrived before their chunk's ChunkPlan was sent. */
  readonly contentBeforePlan: string[] = [];
  committedSeqs: number[] = [];
  /** Most content bytes received at once for chunks not yet committed (what a failure would make the agent resend). */
  maxUncommittedBytes = 0;
  finished = false;
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  script: BackupScript = {};
  /** Overrides `script` per session (1 for the first Hello): lets an attempt fail and the next succeed. */
  scriptForSession: ((session: number) => BackupScript) | null = null;
  restoreStream: readonly Message[] = [];
  /** Called with the total FileData bytes of the session after each frame: 'drop' cuts the connection there. */
  onDataBytes: ((bytes: number) => 'drop' | 'go') | null = null;

  async start(): Promise<this> {
    this.server = createServer((socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      const connection = new FramedConnection(socket, { maxFrameBytes: 16 * 1024 * 1024, heartbeatMs: 1_000, idleTimeoutMs: 30_000 });
      void this.serve(connection).catch((error: unknown) => {
        connection.close(error instanceof WireError ? error : new WireError(ErrorCode.Internal, String(error)));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  get port(): number {
    return (this.server!.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  /** ReceiverConnector: a plain TCP connection through the agent's own connector code path. */
  connect(signal: AbortSignal): Promise<FramedConnection> {
    return new SocketReceiverConnector({ host: '127.0.0.1', port: this.port, tls: false, caPem: null, serverName: null }).connect(signal);
  }

  /** What a restore of everything received would stream: pre-order, hard links by (dev, ino). */
  restoreMessagesFromBackup(): Message[] {
    const listings = new Map<string, EntryMeta[]>();
    for (const chunk of this.chunks) {
      const key = chunk.dir.toString('latin1');
      listings.set(key, [...(listings.get(key) ?? []), ...chunk.entries]);
    }
    const out: Message[] = [];
    const groups = new Map<string, number>();
    let ordinal = 0;
    let bytes = 0;
    const visit = (dir: Buffer, rel: Buffer | null): void => {
      for (const entry of listings.get(dir.toString('latin1')) ?? []) {
        const path = rel === null ? entry.name : Buffer.concat([rel, Buffer.from('/'), entry.name]);
        const abs = joinPath(dir, entry.name);
        const file = entry.type === EntryType.File ? this.files.get(abs.toString('latin1')) : undefined;
        if (entry.type === EntryType.File && (file === undefined || file.error !== null)) continue;
        const mine = ordinal++;
        let hardlinkOf: number | null = null;
        if (entry.type === EntryType.File && entry.nlink > 1) {
          const key = `${entry.dev}:${entry.ino}`;
          hardlinkOf = groups.get(key) ?? null;
          if (hardlinkOf === null) groups.set(key, mine);
        }
        const message: RestoreEntryMessage = { type: MessageType.RestoreEntry, ordinal: mine, path, entry, hardlinkOf };
        out.push(message);
        if (file !== undefined && hardlinkOf === null) {
          for (let offset = 0; offset < file.content.length; offset += 1024 * 1024) {
            out.push({ type: MessageType.FileData, seq: 0, index: mine, data: file.content.subarray(offset, offset + 1024 * 1024) });
          }
          out.push({ type: MessageType.FileEnd, seq: 0, index: mine, size: BigInt(file.content.length), sha256: contentHash(file.content), error: null });
          bytes += file.content.length;
        }
        if (entry.type === EntryType.Dir) visit(abs, path);
      }
    };
    visit(Buffer.from('/'), null);
    out.push({ type: MessageType.RestoreDone, entries: ordinal, bytes });
    return out;
  }

  private async serve(connection: FramedConnection): Promise<void> {
    const inbox = connection[Symbol.asyncIterator]();
    const first = await inbox.next();
    if (first.done === true || first.value.type !== MessageType.Hello) throw WireError.protocol('expected Hello');
    const hello = first.value;
    this.hellos.push(hello);
    const script = this.scriptForSession?.(this.hellos.length) ?? this.script;
    if (script.silent === true) {
      await connection.whenClosed();
      return;
    }
    for (let position = script.waits ?? 0; position > 0; position--) {
      await connection.send({ type: MessageType.Wait, position, timers: null });
      await sleep(script.waitMs ?? 50);
    }
    await script.beforeWelcome?.();
    const limits = {
      chunkMaxEntries: script.chunkMaxEntries ?? 512,
      chunkMaxBytes: script.chunkMaxBytes ?? 256 * 1024,
      creditBytes: script.creditBytes ?? 8 * 1024 * 1024,
      creditOps: script.creditOps ?? 4096,
    };
    await connection.send({
      type: MessageType.Welcome,
      sessionId: 'session-1',
      attempt: this.hellos.length,
      committedDirs: hello.role === 'backup' ? (script.committedDirs ?? []) : [],
      resumeDirs: hello.role === 'backup' ? (script.resumeDirs ?? []) : [],
      sentThrough: hello.role === 'backup' ? (script.sentThrough ?? null) : null,
      previousSnapshot: hello.role === 'backup' && hello.protocol >= PREVIOUS_SNAPSHOT_PROTOCOL_VERSION ? (script.previousSnapshot ?? true) : null,
      maxFrameBytes: 4 * 1024 * 1024,
      heartbeatMs: 1_000,
      idleTimeoutMs: 30_000,
      ...limits,
      ...(hello.role === 'restore' ? { creditBytes: 0, creditOps: 0 } : {}),
    });
    if (hello.role === 'restore') {
      const request = await inbox.next();
      if (request.done === true || request.value.type !== MessageType.RestoreRequest) throw WireError.protocol('expected RestoreRequest');
      for (const message of this.restoreStream) await connection.send(message);
      await connection.whenClosed();
      return;
    }
    await this.serveBackup(connection, inbox, limits);
  }

  private async serveBackup(
    connection: FramedConnection,
    inbox: AsyncIterator<Message>,
    limits: { chunkMaxEntries: number; creditBytes: number; creditOps: number },
  ): Promise<void> {
    const script = this.scriptForSession?.(this.hellos.length) ?? this.script;
    let bytesLeft = limits.creditBytes;
    let opsLeft = limits.creditOps;
    const open: ChunkState[] = [];
    interface Expect {
      readonly state: ChunkState;
      readonly index: number;
      readonly basis: Buffer | null;
    }
    const expected: Expect[] = [];
    const resends: Expect[] = [];
    const unplanned: ChunkState[] = [];
    let current: { expect: Expect; path: Buffer; parts: Buffer[]; known: { size: bigint; sha256: Buffer } | null } | null = null;
    const pathOf = (e: Expect): Buffer => joinPath(e.state.chunk.dir, e.state.chunk.entries[e.index]!.name);
    const matches = (e: Expect, seq: number, index: number): boolean => e.state.chunk.seq === seq && e.index === index;
    /** The file a content message is about: the open one, a resend, or the next in plan order. */
    const openFile = (seq: number, index: number): NonNullable<typeof current> | null => {
      if (current !== null) return matches(current.expect, seq, index) ? current : null;
      const r = resends.findIndex((e) => matches(e, seq, index));
      let e: Expect | undefined;
      if (r >= 0) e = resends.splice(r, 1)[0];
      else if (expected[0] !== undefined && matches(expected[0], seq, index)) e = expected.shift();
      if (e === undefined) return null;
      current = { expect: e, path: pathOf(e), parts: [], known: null };
      return current;
    };
    /** The file whose content is arriving (latin1), if any (a function: the handler's narrowing of `current` would not see openFile's changes). */
    const currentPath = (): string | null => (current === null ? null : current.path.toString('latin1'));
    let received = 0;
    let sessionDataBytes = 0;

    /** The path (latin1) of a chunk's entry, as the script names files. */
    const keyOf = (state: ChunkState, index: number): string => joinPath(state.chunk.dir, state.chunk.entries[index]!.name).toString('latin1');
    const basisOf = (state: ChunkState, index: number): Buffer | null => script.deltaBases?.get(keyOf(state, index)) ?? null;
    /** Decides the chunk's actions and expects its files' content from now on. */
    const planChunk = (state: ChunkState): PlanAction[] => {
      const actions: PlanAction[] = [];
      for (const [index, entry] of state.chunk.entries.entries()) {
        if (entry.type !== EntryType.File || script.skipFiles?.has(keyOf(state, index)) === true) {
          actions.push(PlanAction.Skip);
          continue;
        }
        state.pendingFiles += 1;
        const basis = basisOf(state, index);
        expected.push({ state, index, basis });
        actions.push(basis === null ? PlanAction.Whole : PlanAction.Delta);
      }
      state.actions = actions;
      return actions;
    };
    const sendPlan = async (state: ChunkState): Promise<void> => {
      await script.beforePlan?.(state.chunk);
      for (const message of script.beforePlanMessages?.(state.chunk) ?? []) await connection.send(message);
      const actions = state.actions ?? planChunk(state);
      for (const [index, action] of actions.entries()) {
        const basis = action === PlanAction.Delta ? basisOf(state, index) : null;
        if (basis === null) continue;
        // Signed as the receiver signs it, so chunks hold whole blocks and the agent can compare them by id.
        const data = encodeSignature(await signature(basis, { blockLength: alignedBlockLength(basis.length) }));
        const basisChunks = script.basisChunkIds?.get(keyOf(state, index)) ?? contentChunkIds(basis);
        await connection.send({ type: MessageType.Signature, seq: state.chunk.seq, index, data, last: true, basisChunks });
      }
      state.planSent = true;
      await connection.send({ type: MessageType.ChunkPlan, seq: state.chunk.seq, actions });
    };
    const notePlanned = (type: string, seq: number, index: number): void => {
      const state = open.find((o) => o.chunk.seq === seq);
      if (state !== undefined && !state.planSent) this.contentBeforePlan.push(`${type} ${seq}/${index}`);
    };
    /** Plans on their way (planDelayMs): Finish finds them sent, as the receiver sends each before reading on. */
    const delayedPlans: Promise<void>[] = [];
    const uncommittedBySeq = new Map<number, number>();
    let uncommittedBytes = 0;
    let lagging: Promise<void> = Promise.resolve();
    const commit = async (state: ChunkState): Promise<void> => {
      this.committedSeqs.push(state.chunk.seq);
      uncommittedBytes -= uncommittedBySeq.get(state.chunk.seq) ?? 0;
      uncommittedBySeq.delete(state.chunk.seq);
      await connection.send({ type: MessageType.Committed, seq: state.chunk.seq, dir: state.chunk.dir, dirComplete: state.chunk.last });
      opsLeft += state.chunk.entries.length;
      await connection.send({ type: MessageType.Credit, bytes: 0, ops: state.chunk.entries.length });
    };
    const acknowledge = async (): Promise<void> => {
      while (open[0] !== undefined && open[0].planSent && open[0].pendingFiles === 0) {
        const state = open.shift()!;
        const lag = script.commitLagMs;
        if (lag !== undefined) {
          lagging = lagging.then(() => sleep(lag)).then(() => commit(state)).catch(() => undefined);
          continue;
        }
        if (script.commitDelayMs !== undefined) await sleep(script.commitDelayMs);
        await commit(state);
      }
    };

    for (;;) {
      const next = await inbox.next();
      if (next.done === true) return;
      const message = next.value;
      switch (message.type) {
        case MessageType.DirDigest: {
          const dir = message.dir.toString('latin1');
          const reused = script.reuseDirs?.has(dir) ?? false;
          this.digests.push({ seq: message.seq, dir, digest: message.digest.toString('hex'), reused });
          await connection.send({ type: MessageType.DigestReply, seq: message.seq, reused });
          if (reused) await connection.send({ type: MessageType.Committed, seq: message.seq, dir: message.dir, dirComplete: true });
          break;
        }
        case MessageType.PackedChunk:
        case MessageType.Chunk: {
          received += 1;
          this.chunks.push({ ...message, type: MessageType.Chunk });
          if (message.entries.length > limits.chunkMaxEntries) this.violations.push(`chunk ${message.seq} has ${message.entries.length} entries`);
          opsLeft -= message.entries.length;
          if (opsLeft < 0) this.violations.push(`op credit exceeded by chunk ${message.seq}`);
          const state: ChunkState = { chunk: { ...message, type: MessageType.Chunk }, pendingFiles: 0, actions: null, planSent: false };
          open.push(state);
          if (script.failAfterChunks !== undefined && received >= script.failAfterChunks.count) {
            connection.close(new WireError(script.failAfterChunks.code, script.failAfterChunks.message));
            return;
          }
          if (script.planDelayMs !== undefined) {
            planChunk(state);
            const delay = script.planDelayMs;
            delayedPlans.push(
              sleep(delay)
                .then(() => sendPlan(state))
                .then(acknowledge)
                .catch(() => undefined),
            );
            break;
          }
          unplanned.push(state);
          this.maxUnplanned = Math.max(this.maxUnplanned, unplanned.length);
          if (received >= (script.holdPlansUntilChunks ?? 0)) {
            while (unplanned.length > 0) await sendPlan(unplanned.shift()!);
          }
          await acknowledge();
          break;
        }
        case MessageType.ContentOffer: {
          notePlanned('ContentOffer', message.seq, message.index);
          if (message.chunks.length < Math.ceil(Number(message.size) / HELD_CHUNK_BYTES)) {
            // A first-chunk offer: answered from the script (held when the file is known or has a stored start).
            const target = expected.find((e) => matches(e, message.seq, message.index));
            if (target === undefined || message.chunks.length !== 1) {
              this.violations.push(`unexpected first-chunk ContentOffer ${message.seq}/${message.index}`);
              break;
            }
            const path = pathOf(target).toString('latin1');
            const held = (script.knownContent?.size ?? 0) > 0 || script.heldPrefixes?.has(path) === true;
            this.firstChunkOffers.push({ path, chunk: message.chunks[0]!.toString('hex'), held, during: currentPath() });
            await connection.send({ type: MessageType.OfferReply, seq: message.seq, index: message.index, known: false, heldChunks: held ? 1 : 0 });
            break;
          }
          const file = current === null ? openFile(message.seq, message.index) : null;
          if (file === null) {
            this.violations.push(`unexpected ContentOffer ${message.seq}/${message.index}`);
            break;
          }
          const known = script.knownContent?.has(message.sha256.toString('hex')) === true;
          const prefix = known ? null : (script.heldPrefixes?.get(file.path.toString('latin1')) ?? null);
          const heldChunks = prefix === null ? 0 : prefix.length / HELD_CHUNK_BYTES;
          for (let i = 0; i < heldChunks; i++) {
            const id = sha256(prefix!.subarray(i * HELD_CHUNK_BYTES, (i + 1) * HELD_CHUNK_BYTES));
            if (!id.equals(message.chunks[i] ?? Buffer.alloc(0))) this.violations.push(`held chunk ${i} of ${file.path.toString('latin1')} is not the offered one`);
          }
          this.offers.push({ path: file.path.toString('latin1'), known, heldChunks });
          if (known) file.known = { size: message.size, sha256: message.sha256 };
          if (prefix !== null) file.parts.push(prefix);
          await script.beforeOfferReply?.(file.path);
          await connection.send({ type: MessageType.OfferReply, seq: message.seq, index: message.index, known, heldChunks });
          break;
        }
        case MessageType.FileData: {
          notePlanned('FileData', message.seq, message.index);
          const file = openFile(message.seq, message.index);
          if (file === null || file.known !== null) {
            this.violations.push(`unexpected FileData ${message.seq}/${message.index}`);
            break;
          }
          this.dataFrameSizes.push(message.data.length);
          uncommittedBySeq.set(message.seq, (uncommittedBySeq.get(message.seq) ?? 0) + message.data.length);
          uncommittedBytes += message.data.length;
          this.maxUncommittedBytes = Math.max(this.maxUncommittedBytes, uncommittedBytes);
          bytesLeft -= message.data.length;
          if (bytesLeft < 0) this.violations.push(`byte credit exceeded at ${message.seq}/${message.index}`);
          // Content counts as stored (durable) as it arrives: its byte credit goes back at once.
          bytesLeft += message.data.length;
          await connection.send({ type: MessageType.Credit, bytes: message.data.length, ops: 0 });
          file.parts.push(Buffer.from(message.data));
          const key = file.path.toString('latin1');
          this.dataBytes.set(key, (this.dataBytes.get(key) ?? 0) + message.data.length);
          sessionDataBytes += message.data.length;
          if (this.onDataBytes?.(sessionDataBytes) === 'drop') {
            connection.close();
            return;
          }
          break;
        }
        case MessageType.FileEnd: {
          notePlanned('FileEnd', message.seq, message.index);
          const file = openFile(message.seq, message.index);
          current = null;
          if (file === null) {
            this.violations.push(`unexpected FileEnd ${message.seq}/${message.index}`);
            break;
          }
          const { expect, path } = file;
          let content = Buffer.concat(file.parts);
          if (expect.basis !== null && message.error === null) {
            if (script.resendDeltas === true) {
              resends.push({ ...expect, basis: null });
              this.resent.push(path.toString('latin1'));
              await connection.send({ type: MessageType.Resend, seq: message.seq, index: message.index });
              break;
            }
            const rebuilt: Buffer[] = [];
            try {
              for await (const piece of patch(expect.basis, decodeDelta([content]))) rebuilt.push(Buffer.from(piece));
            } catch {
              // As the receiver does: the file once more, whole.
              resends.push({ ...expect, basis: null });
              this.rebuildFailures.push(path.toString('latin1'));
              await connection.send({ type: MessageType.Resend, seq: message.seq, index: message.index });
              break;
            }
            content = Buffer.concat(rebuilt);
          }
          const known = file.known;
          if (known !== null) {
            if (known.size !== message.size || !known.sha256.equals(message.sha256)) this.violations.push(`FileEnd differs from the offer for ${path.toString('latin1')}`);
            this.files.set(path.toString('latin1'), { path, content: Buffer.alloc(0), error: message.error });
          } else {
            // A delta cut short by a read error reports no size or hash, nor does a file that changed in its held
            // start: only whole content sent from its start is checked then.
            const resumed = this.offers.some((offer) => offer.path === path.toString('latin1') && offer.heldChunks > 0);
            const checked = message.error === null || (expect.basis === null && !resumed);
            if (checked && BigInt(content.length) !== message.size) this.violations.push(`size mismatch for ${path.toString('latin1')}`);
            if (checked && !contentHash(content).equals(message.sha256)) this.violations.push(`content hash mismatch for ${path.toString('latin1')}`);
            this.files.set(path.toString('latin1'), { path, content, error: message.error });
          }
          expect.state.pendingFiles -= 1;
          await acknowledge();
          break;
        }
        case MessageType.Finish: {
          await Promise.all(delayedPlans);
          this.finished = true;
          if (open.length > 0) this.violations.push(`Finish with ${open.length} chunks incomplete`);
          const files = [...this.files.values()].filter((file) => file.error === null);
          await connection.send({
            type: MessageType.Done,
            snapshotId: '00000000-0000-4000-8000-000000000001',
            rootTree: 'ab'.repeat(32),
            publishedAt: new Date().toISOString(),
            stats: { files: files.length, dirs: 0, bytes: files.reduce((sum, file) => sum + file.content.length, 0), bytesReceived: 0, bytesStored: 0 },
          });
          await connection.whenClosed();
          return;
        }
        default:
          this.violations.push(`unexpected message type ${message.type}`);
      }
    }
  }
}

const HELD_CHUNK_BYTES = 1024 * 1024;

function sha256(data: Buffer): Buffer {
  return createHash('sha256').update(data).digest();
}

/** What FileEnd carries (protocol 7): the SHA-256 of up to one chunk, the chunk-list hash beyond. */
function contentHash(data: Buffer): Buffer {
  return new ContentHasher().update(data).digest();
}

/** A scripted delay; unref'd, so commits still lagging behind a stopped receiver do not keep the test process alive. */
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
