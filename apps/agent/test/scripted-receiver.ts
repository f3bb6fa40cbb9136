/**
 * A receiver peer for agent tests: a real TCP server speaking the wire protocol through the real codec,
 * scripted to exercise the agent (admission waits, small credit, plans held back to prove pipelining,
 * resume points, errors) while checking every rule the agent must keep (credit never exceeded, content
 * in plan order, chunk limits). It stores what it receives in memory and can serve it back as a restore.
 */
import { createHash } from 'node:crypto';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import {
  EntryType,
  ErrorCode,
  FramedConnection,
  MessageType,
  PlanAction,
  WireError,
  joinPath,
  type ChunkMessage,
  type EntryMeta,
  type HelloMessage,
  type Message,
  type RestoreEntryMessage,
} from '@berth/wire';
import { SocketReceiverConnector, type ReceiverConnector } from '../src/receiver/receiver-connector';

export interface BackupScript {
  readonly waits?: number;
  readonly waitMs?: number;
  readonly committedDirs?: readonly Buffer[];
  readonly chunkMaxEntries?: number;
  readonly chunkMaxBytes?: number;
  readonly creditBytes?: number;
  readonly creditOps?: number;
  /** Plans are held back until this many chunks have arrived: an agent that waits for plans would hang. */
  readonly holdPlansUntilChunks?: number;
  /** Runs before a chunk's plan is sent (e.g. to remove a file the plan asks for). */
  readonly beforePlan?: (chunk: ChunkMessage) => Promise<void>;
  /** Delay before a completed chunk is acknowledged (Committed + Credit). */
  readonly commitDelayMs?: number;
  /** Ends the session with this error once this many chunks have arrived. */
  readonly failAfterChunks?: { readonly count: number; readonly code: ErrorCode; readonly message: string };
  /** Never answers Hello (to test interruption while waiting). */
  readonly silent?: boolean;
}

export interface ReceivedFile {
  readonly path: Buffer;
  readonly content: Buffer;
  readonly error: string | null;
}

interface ChunkState {
  readonly chunk: ChunkMessage;
  pendingFiles: number;
  planSent: boolean;
}

export class ScriptedReceiver implements ReceiverConnector {
  readonly chunks: ChunkMessage[] = [];
  readonly files = new Map<string, ReceivedFile>();
  readonly violations: string[] = [];
  readonly dataFrameSizes: number[] = [];
  hellos: HelloMessage[] = [];
  /** Most chunks received at once whose plans had not been sent yet. */
  maxUnplanned = 0;
  committedSeqs: number[] = [];
  finished = false;
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  script: BackupScript = {};
  /** Overrides `script` per session (1 for the first Hello): lets an attempt fail and the next succeed. */
  scriptForSession: ((session: number) => BackupScript) | null = null;
  restoreStream: readonly Message[] = [];

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
          out.push({ type: MessageType.FileEnd, seq: 0, index: mine, size: BigInt(file.content.length), sha256: sha256(file.content), error: null });
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
      await connection.send({ type: MessageType.Wait, position });
      await sleep(script.waitMs ?? 50);
    }
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
    const expected: Array<{ state: ChunkState; index: number }> = [];
    const unplanned: ChunkState[] = [];
    let current: { path: Buffer; parts: Buffer[]; hash: ReturnType<typeof createHash> } | null = null;
    let received = 0;

    const sendPlan = async (state: ChunkState): Promise<void> => {
      await script.beforePlan?.(state.chunk);
      const actions = state.chunk.entries.map((entry, index) => {
        if (entry.type !== EntryType.File) return PlanAction.Skip;
        state.pendingFiles += 1;
        expected.push({ state, index });
        return PlanAction.Whole;
      });
      state.planSent = true;
      await connection.send({ type: MessageType.ChunkPlan, seq: state.chunk.seq, actions });
    };
    const acknowledge = async (): Promise<void> => {
      while (open[0] !== undefined && open[0].planSent && open[0].pendingFiles === 0) {
        const state = open.shift()!;
        if (script.commitDelayMs !== undefined) await sleep(script.commitDelayMs);
        this.committedSeqs.push(state.chunk.seq);
        await connection.send({ type: MessageType.Committed, seq: state.chunk.seq, dir: state.chunk.dir, dirComplete: state.chunk.last });
        opsLeft += state.chunk.entries.length;
        await connection.send({ type: MessageType.Credit, bytes: 0, ops: state.chunk.entries.length });
      }
    };

    for (;;) {
      const next = await inbox.next();
      if (next.done === true) return;
      const message = next.value;
      switch (message.type) {
        case MessageType.Chunk: {
          received += 1;
          this.chunks.push(message);
          if (message.entries.length > limits.chunkMaxEntries) this.violations.push(`chunk ${message.seq} has ${message.entries.length} entries`);
          opsLeft -= message.entries.length;
          if (opsLeft < 0) this.violations.push(`op credit exceeded by chunk ${message.seq}`);
          const state: ChunkState = { chunk: message, pendingFiles: 0, planSent: false };
          open.push(state);
          unplanned.push(state);
          this.maxUnplanned = Math.max(this.maxUnplanned, unplanned.length);
          if (script.failAfterChunks !== undefined && received >= script.failAfterChunks.count) {
            connection.close(new WireError(script.failAfterChunks.code, script.failAfterChunks.message));
            return;
          }
          if (received >= (script.holdPlansUntilChunks ?? 0)) {
            while (unplanned.length > 0) await sendPlan(unplanned.shift()!);
          }
          await acknowledge();
          break;
        }
        case MessageType.FileData: {
          const head = expected[0];
          if (head === undefined || head.state.chunk.seq !== message.seq || head.index !== message.index) {
            this.violations.push(`unexpected FileData ${message.seq}/${message.index}`);
            break;
          }
          this.dataFrameSizes.push(message.data.length);
          bytesLeft -= message.data.length;
          if (bytesLeft < 0) this.violations.push(`byte credit exceeded at ${message.seq}/${message.index}`);
          // Content counts as stored (durable) as it arrives: its byte credit goes back at once.
          bytesLeft += message.data.length;
          await connection.send({ type: MessageType.Credit, bytes: message.data.length, ops: 0 });
          current ??= { path: joinPath(head.state.chunk.dir, head.state.chunk.entries[head.index]!.name), parts: [], hash: createHash('sha256') };
          current.parts.push(Buffer.from(message.data));
          current.hash.update(message.data);
          break;
        }
        case MessageType.FileEnd: {
          const head = expected.shift();
          if (head === undefined || head.state.chunk.seq !== message.seq || head.index !== message.index) {
            this.violations.push(`unexpected FileEnd ${message.seq}/${message.index}`);
            break;
          }
          const path = current?.path ?? joinPath(head.state.chunk.dir, head.state.chunk.entries[head.index]!.name);
          const content = Buffer.concat(current?.parts ?? []);
          const digest = (current?.hash ?? createHash('sha256')).digest();
          current = null;
          if (BigInt(content.length) !== message.size) this.violations.push(`size mismatch for ${path.toString('latin1')}`);
          if (!digest.equals(message.sha256)) this.violations.push(`sha256 mismatch for ${path.toString('latin1')}`);
          this.files.set(path.toString('latin1'), { path, content, error: message.error });
          head.state.pendingFiles -= 1;
          await acknowledge();
          break;
        }
        case MessageType.Finish: {
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

function sha256(data: Buffer): Buffer {
  return createHash('sha256').update(data).digest();
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
