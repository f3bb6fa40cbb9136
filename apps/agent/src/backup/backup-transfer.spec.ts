import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decodeFrameBody, encodeMessage, EntryType, type FramedConnection, type Message, MessageType, type OutgoingMessage, type PackedChunkMessage, PlanAction, type WelcomeMessage } from '@berth/wire';
import { TreeWalker } from '../walk/tree-walker';
import { BackupTransfer, type BackupTransferEvents } from './backup-transfer';

const WELCOME: WelcomeMessage = {
  type: MessageType.Welcome,
  sessionId: 'session',
  attempt: 1,
  committedDirs: [],
  maxFrameBytes: 1 << 20,
  chunkMaxEntries: 1000,
  chunkMaxBytes: 1 << 16,
  heartbeatMs: 10_000,
  idleTimeoutMs: 60_000,
  creditBytes: 1 << 24,
  creditOps: 10_000,
  resumeDirs: [],
  sentThrough: null,
  previousSnapshot: false,
};

const NO_EVENTS: BackupTransferEvents = {
  onWait: () => undefined,
  onWelcome: () => undefined,
  onChunkSent: () => undefined,
  onDirectoryReused: () => undefined,
  onFileDone: () => undefined,
  onFilesUnchanged: () => undefined,
  onBytesSent: () => undefined,
  onCommitted: () => undefined,
};

/**
 * The part of a FramedConnection a BackupTransfer uses, answering as a receiver would. Injected fault: a chunk's
 * send() resolves only 20 ms after the receiver's plan for it came back, as it does when the write buffer is over
 * its bound (send waits for 'drain') while the frame itself has already left.
 */
class AnsweringConnection {
  readonly sent: Message[] = [];
  private readonly inbox: Message[] = [];
  private wake: (() => void) | null = null;
  private closed = false;

  send(outgoing: OutgoingMessage, onWritten?: () => void): Promise<void> {
    // As the receiver reads it: a chunk packed ahead arrives as the entries it holds.
    const message = decodeFrameBody(encodeMessage(outgoing).subarray(4));
    this.sent.push(message);
    onWritten?.();
    switch (message.type) {
      case MessageType.Hello:
        setImmediate(() => this.push(WELCOME));
        return Promise.resolve();
      case MessageType.PackedChunk:
        this.push(planOf(message));
        return new Promise((resolve) => setTimeout(resolve, 20));
      case MessageType.Finish:
        setImmediate(() => this.push({ type: MessageType.Done, snapshotId: '00000000-0000-4000-8000-000000000001', rootTree: '0'.repeat(64), publishedAt: new Date().toISOString(), stats: { files: 1, dirs: 0, bytes: 5, bytesReceived: 5, bytesStored: 5 } }));
        return Promise.resolve();
      default:
        return Promise.resolve();
    }
  }

  configureTimers(): void {}
  setMaxFrameBytes(): void {}

  close(): void {
    this.closed = true;
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Message> {
    for (;;) {
      const next = this.inbox.shift();
      if (next !== undefined) {
        yield next;
        continue;
      }
      if (this.closed) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = null;
    }
  }

  private push(message: Message): void {
    this.inbox.push(message);
    this.wake?.();
  }
}

/** What a receiver plans on a host's first backup: every regular file whole, nothing else. */
function planOf(chunk: PackedChunkMessage): Message {
  return { type: MessageType.ChunkPlan, seq: chunk.seq, actions: chunk.entries.map((entry) => (entry.type === EntryType.File ? PlanAction.Whole : PlanAction.Skip)) };
}

describe('BackupTransfer on a host first backup', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'berth-transfer-'));
    writeFileSync(path.join(dir, 'f'), 'hello');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('finishes when a chunk plan comes back before the chunk send has resolved', async () => {
    const connection = new AnsweringConnection();
    const transfer = new BackupTransfer(connection as unknown as FramedConnection, { hostId: 'h', runId: 'r', credential: 'c', agentVersion: 'test' }, NO_EVENTS, new AbortController().signal);
    const walk = () => new TreeWalker({ paths: [dir], excludes: [], skipDirs: [], onProblem: () => undefined }).directories();
    const outcome = await Promise.race([
      transfer.run(walk).then(() => 'done'),
      new Promise((resolve) => setTimeout(() => resolve('no Finish within 5 s'), 5_000)),
    ]);
    connection.close();
    expect(outcome).toBe('done');
    const types = connection.sent.map((message) => message.type);
    expect(types.filter((type) => type === MessageType.FileData).length).toBeGreaterThan(0);
    expect(types[types.length - 1]).toBe(MessageType.Finish);
  });
});
