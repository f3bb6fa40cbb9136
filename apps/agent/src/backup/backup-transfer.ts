/**
 * The agent's half of one backup session (see the flow in @berth/wire messages.ts):
 *
 *   Hello -> Wait* -> Welcome(committedDirs, limits, credit)
 *   producer: walk (post-order, byte order), cut each directory into Chunks, send them as op credit allows
 *   data:     for each chunk in seq order, await its ChunkPlan, stream the files marked Whole in entry order
 *   receiver: Credit adds to the window, Committed moves the checkpoint
 *   Finish -> Done(snapshot)
 *
 * Producer and data sender run side by side, so many chunks are in flight while content flows: there is
 * no round trip per file or per directory. One reader loop dispatches every incoming message; any
 * failure (connection lost, protocol violation, abort) fails every waiter at once.
 */
import {
  EntryType,
  MessageType,
  PlanAction,
  MIN_PROTOCOL_VERSION,
  WireError,
  ErrorCode,
  type ChunkPlanMessage,
  type DoneMessage,
  type EntryMeta,
  type FramedConnection,
  type Message,
  type WelcomeMessage,
} from '@berth/wire';
import { AgentError, AgentErrorCode } from '../errors/agent-error';
import { protocolError, sessionError } from '../receiver/session-errors';
import { AsyncQueue } from '../util/async-queue';
import { deferred, type Deferred } from '../util/deferred';
import { joinPath } from '../walk/selection';
import { type DirectoryListing } from '../walk/tree-walker';
import { nextChunkLength } from './chunk-cutter';
import { CreditWindow } from './credit-window';
import { sendContent, sendFile } from './file-sender';
import { ReadAhead } from './read-ahead';

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
  onChunkSent(files: number, bytes: bigint): void;
  onFileDone(path: Buffer, size: bigint, error: string | null): void;
  onBytesSent(bytes: number): void;
  onCommitted(dir: Buffer, dirComplete: boolean): void;
}

/** Chunks sent whose file content is not sent yet; bounds memory when credit is generous. */
const MAX_CHUNKS_IN_FLIGHT = 64;

interface SentChunk {
  readonly seq: number;
  readonly dir: Buffer;
  readonly entries: readonly EntryMeta[];
  readonly plan: Deferred<ChunkPlanMessage>;
  /** Set when the plan arrives. */
  actions: readonly PlanAction[] | null;
}

export class BackupTransfer {
  private readonly welcome = deferred<WelcomeMessage>();
  private readonly done = deferred<DoneMessage>();
  private readonly failure = deferred<never>();
  private readonly plans = new Map<number, SentChunk>();
  private readonly outbox = new AsyncQueue<SentChunk>();
  private credit = new CreditWindow(0, 0);
  private welcomed = false;
  private finishSent = false;
  private nextSeq = 0;
  /** Highest seq whose file content has been fully sent (-1: none). */
  private dataDoneSeq = -1;
  private failed: AgentError | null = null;
  private readonly readAhead = new ReadAhead();
  /** Next chunk whose planned files go to the read-ahead (plans are queued in seq order). */
  private nextReadAheadSeq = 0;

  constructor(
    private readonly connection: FramedConnection,
    private readonly identity: BackupSessionIdentity,
    private readonly events: BackupTransferEvents,
    private readonly signal: AbortSignal,
  ) {}

  /**
   * Runs the whole session. `walk` is called once Welcome names the directories to skip.
   * Resolves with Done; rejects with an AgentError.
   */
  async run(walk: (skipDirs: readonly Buffer[]) => AsyncIterable<DirectoryListing>): Promise<DoneMessage> {
    const onAbort = (): void => {
      this.fail(new AgentError(AgentErrorCode.Interrupted, 'backup interrupted: the agent is stopping'));
    };
    if (this.signal.aborted) onAbort();
    this.signal.addEventListener('abort', onAbort, { once: true });
    const reading = this.readLoop();
    try {
      await this.guard(this.send({ type: MessageType.Hello, protocol: MIN_PROTOCOL_VERSION, role: 'backup', ...this.identity }));
      const welcome = await this.guard(this.welcome.promise);
      this.connection.configureTimers({ heartbeatMs: welcome.heartbeatMs, idleTimeoutMs: welcome.idleTimeoutMs });
      this.connection.setMaxFrameBytes(welcome.maxFrameBytes);
      this.credit = new CreditWindow(welcome.creditBytes, welcome.creditOps);
      this.events.onWelcome(welcome);
      await Promise.all([this.produce(walk(welcome.committedDirs), welcome), this.sendContent()]);
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
    try {
      for await (const listing of listings) {
        if (this.failed !== null) throw this.failed;
        await this.sendDirectory(listing, welcome);
      }
    } finally {
      this.outbox.close();
    }
  }

  private async sendDirectory(listing: DirectoryListing, welcome: WelcomeMessage): Promise<void> {
    const { path: dir, entries } = listing;
    let start = 0;
    do {
      const wanted = nextChunkLength(entries, start, dir, welcome.chunkMaxEntries, welcome.chunkMaxBytes);
      const length = await this.guard(this.credit.takeOps(wanted, () => this.pipelineIdle()));
      await this.guard(this.roomInFlight());
      const chunk: SentChunk = { seq: this.nextSeq++, dir, entries: entries.slice(start, start + length), plan: deferred(), actions: null };
      start += length;
      this.plans.set(chunk.seq, chunk);
      this.outbox.push(chunk);
      await this.guard(this.send({ type: MessageType.Chunk, seq: chunk.seq, dir, entries: chunk.entries, last: start >= entries.length }));
      let files = 0;
      let bytes = 0n;
      for (const entry of chunk.entries) {
        if (entry.type === EntryType.Dir) continue;
        files += 1;
        bytes += entry.size;
      }
      this.events.onChunkSent(files, bytes);
    } while (start < entries.length);
  }

  private async sendContent(): Promise<void> {
    for (;;) {
      const chunk = await this.guard(this.outbox.shift());
      if (chunk === null) return;
      const plan = await this.guard(chunk.plan.promise);
      const send = (message: Message): Promise<void> => this.guard(this.send(message));
      const onBytesSent = (bytes: number): void => this.events.onBytesSent(bytes);
      for (let index = 0; index < chunk.entries.length; index++) {
        const entry = chunk.entries[index]!;
        if (entry.type === EntryType.Dir) continue;
        const path = joinPath(chunk.dir, entry.name);
        if (plan.actions[index] !== PlanAction.Whole) {
          this.events.onFileDone(path, entry.size, null);
          continue;
        }
        const ahead = this.readAhead.take();
        if (ahead.target.seq !== chunk.seq || ahead.target.index !== index) throw new Error(`read-ahead out of order at ${chunk.seq}/${index}`);
        const result =
          ahead.content === null
            ? await sendFile(ahead.target, this.credit, send, onBytesSent)
            : await sendContent(ahead.target, await this.guard(ahead.content), this.credit, send, onBytesSent);
        this.events.onFileDone(path, result.size, result.error);
      }
      this.plans.delete(chunk.seq);
      this.dataDoneSeq = chunk.seq;
      this.credit.wake();
      this.wakeInFlight?.();
    }
  }

  /** True when the agent has nothing left to push: more credit can only come from the receiver's own pace. */
  private pipelineIdle(): boolean {
    return this.dataDoneSeq === this.nextSeq - 1;
  }

  private wakeInFlight: (() => void) | null = null;

  private async roomInFlight(): Promise<void> {
    while (this.nextSeq - 1 - this.dataDoneSeq >= MAX_CHUNKS_IN_FLIGHT) {
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
        this.events.onCommitted(message.dir, message.dirComplete);
        return;
      case MessageType.Done:
        if (!this.finishSent) throw this.protocol('Done before Finish');
        this.done.resolve(message);
        return;
      default:
        throw this.protocol(`unexpected message type ${message.type} in a backup session`);
    }
  }

  private acceptPlan(plan: ChunkPlanMessage): void {
    const chunk = this.plans.get(plan.seq);
    if (chunk === undefined || chunk.plan.settled) throw this.protocol(`ChunkPlan for unknown or already planned chunk ${plan.seq}`);
    if (plan.actions.length !== chunk.entries.length) {
      throw this.protocol(`ChunkPlan ${plan.seq} has ${plan.actions.length} actions for ${chunk.entries.length} entries`);
    }
    plan.actions.forEach((action, index) => {
      if (action === PlanAction.Whole && chunk.entries[index]!.type !== EntryType.File) {
        throw this.protocol(`ChunkPlan ${plan.seq} asks for the content of entry ${index}, which is not a regular file`);
      }
    });
    chunk.actions = plan.actions;
    chunk.plan.resolve(plan);
    this.feedReadAhead();
  }

  /** Queues the files of planned chunks, in seq order, for reading ahead. */
  private feedReadAhead(): void {
    for (;;) {
      const chunk = this.plans.get(this.nextReadAheadSeq);
      if (chunk === undefined || chunk.actions === null) return;
      chunk.actions.forEach((action, index) => {
        if (action !== PlanAction.Whole) return;
        const entry = chunk.entries[index]!;
        this.readAhead.add({ seq: chunk.seq, index, path: joinPath(chunk.dir, entry.name), expectedSize: entry.size });
      });
      this.nextReadAheadSeq += 1;
    }
  }

  private protocol(message: string): AgentError {
    const error = protocolError(message);
    this.fail(error);
    return error;
  }

  private send(message: Message): Promise<void> {
    return this.connection.send(message);
  }

  /** Races a step against the session's failure, so nothing waits forever on a dead session. */
  private guard<T>(promise: Promise<T>): Promise<T> {
    return Promise.race([promise, this.failure.promise]);
  }

  private fail(error: AgentError): AgentError {
    if (this.failed !== null) return this.failed;
    this.failed = error;
    this.failure.reject(error);
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
