import { ContentHasher, decodeSignature, delta, encodeDelta } from '@berth/delta';
import {
  CONTENT_HASH_PROTOCOL_VERSION,
  FramedConnection,
  MAX_FRAME_BYTES,
  MessageType,
  PROTOCOL_VERSION,
  PlanAction,
  WireError,
  joinPath,
  directoryDigest,
  EntryType,
  type ChunkPlanMessage,
  type CommittedMessage,
  type DoneMessage,
  type EntryMeta,
  type Message,
  type WelcomeMessage,
} from '@berth/wire';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import tls from 'node:tls';
import { joinLocal, readEntries } from './local-tree';

export interface AgentIdentity {
  readonly port: number;
  /** Connect with TLS, trusting this CA certificate (PEM). */
  readonly tlsCa?: Buffer;
  readonly hostId: string;
  readonly runId: string;
  readonly credential: string;
}

export interface BackupOptions extends AgentIdentity {
  /** Local directory backed up as the snapshot's "/". */
  readonly root: string;
  /** Entries per chunk (default: what Welcome allows). */
  readonly chunkEntries?: number;
  readonly dataFrameBytes?: number;
  /** Drop the connection (no Finish) once this many directories are acknowledged complete. */
  readonly stopAfterDirs?: number;
  /** Close the session once this many chunks that are not a directory's last have been committed. */
  readonly stopAfterPartialChunks?: number;
  /** Offer the chunk hashes (ContentOffer) of files planned Whole from this size up. */
  readonly offerMinBytes?: number;
  /** Drop the connection (no Finish, no Error) once this many FileData bytes have been sent. */
  readonly stopAfterDataBytes?: number;
  /** Send deltas of a different content than the file (one byte flipped) while FileEnd names the real file. */
  readonly lyingDelta?: boolean;
  /**
   * Called after a delta's frames and before its FileEnd; `probe` names a directory that does not exist by a digest
   * (protocol 4) and resolves with the receiver's answer: how soon the session answers while a rebuild is under way.
   */
  readonly duringDelta?: (probe: () => Promise<boolean>) => Promise<void>;
  /** Protocol version sent in Hello (default PROTOCOL_VERSION). */
  readonly protocol?: number;
  /** v3: name each directory by its digest first (one round trip each) and send its chunks only when not reused. */
  readonly digests?: boolean;
  /**
   * With `digests`: probe a directory before its subdirectories, as the agent does with held probes (an unchanged
   * tree is one probe of "/"); the subdirectories are probed only when it is not reused.
   */
  readonly topDown?: boolean;
  /** Send Finish without waiting for the last chunk's Committed (as the agent does when no delta is outstanding). */
  readonly finishUncommitted?: boolean;
  /** v3: send entries in PackedChunk frames. */
  readonly packed?: boolean;
  /** Called with the connection once Welcome arrived, before anything is sent. */
  readonly afterWelcome?: (conn: FramedConnection) => Promise<void>;
}

export interface BackupResult {
  readonly welcome: WelcomeMessage | null;
  readonly waits: number[];
  readonly plans: ChunkPlanMessage[];
  readonly committed: CommittedMessage[];
  readonly done: DoneMessage | null;
  readonly closeReason: WireError | null;
  /** FileData payload bytes sent. */
  readonly dataBytes: number;
  readonly chunksSent: number;
  /** Entries sent in chunks, by directory path. */
  readonly entriesSent: ReadonlyMap<string, number>;
  /** Bytes that crossed the socket each way, frames and heartbeats included. */
  readonly wireBytesOut: number;
  readonly wireBytesIn: number;
  readonly deltaFiles: number;
  readonly resends: number;
  readonly offersKnown: number;
  /** Held leading chunks named by each OfferReply that was not `known` (v3), in order. */
  readonly heldChunks: number[];
  /** Directories the receiver reused from their digest (paths, latin1). */
  readonly reusedDirs: readonly string[];
  /** The basis chunk ids sent with each signature (v8), by "seq/index"; the delta is given them. */
  readonly basisChunks: ReadonlyMap<string, Buffer>;
}

class Stopped extends Error {}

/** Messages from the receiver, turned into promises an agent script can await. */
class Mailbox {
  welcome: WelcomeMessage | null = null;
  done: DoneMessage | null = null;
  readonly waits: number[] = [];
  readonly plans = new Map<number, ChunkPlanMessage>();
  readonly committed: CommittedMessage[] = [];
  readonly signatures = new Map<string, Buffer[]>();
  readonly basisChunks = new Map<string, Buffer>();
  readonly resends: Array<{ seq: number; index: number }> = [];
  readonly offerReplies = new Map<string, { known: boolean; heldChunks: number }>();
  readonly digestReplies = new Map<number, boolean>();
  bytes = 0;
  ops = 0;
  private wakers: Array<() => void> = [];
  closeReason: WireError | null = null;
  closed = false;

  constructor(conn: FramedConnection) {
    conn.on('message', (msg) => this.onMessage(msg));
    conn.on('close', (reason) => {
      this.closed = true;
      this.closeReason = reason;
      this.wake();
    });
  }

  private onMessage(msg: Message): void {
    switch (msg.type) {
      case MessageType.Wait:
        this.waits.push(msg.position);
        break;
      case MessageType.Welcome:
        this.welcome = msg;
        this.bytes = msg.creditBytes;
        this.ops = msg.creditOps;
        break;
      case MessageType.ChunkPlan:
        this.plans.set(msg.seq, msg);
        break;
      case MessageType.Credit:
        this.bytes += msg.bytes;
        this.ops += msg.ops;
        break;
      case MessageType.Committed:
        this.committed.push(msg);
        break;
      case MessageType.Done:
        this.done = msg;
        break;
      case MessageType.Signature: {
        const key = `${msg.seq}/${msg.index}`;
        this.signatures.set(key, [...(this.signatures.get(key) ?? []), Buffer.from(msg.data)]);
        if (msg.basisChunks !== null) this.basisChunks.set(key, Buffer.from(msg.basisChunks));
        break;
      }
      case MessageType.Resend:
        this.resends.push({ seq: msg.seq, index: msg.index });
        break;
      case MessageType.OfferReply:
        this.offerReplies.set(`${msg.seq}/${msg.index}`, { known: msg.known, heldChunks: msg.heldChunks });
        break;
      case MessageType.DigestReply:
        this.digestReplies.set(msg.seq, msg.reused);
        break;
      default:
        break;
    }
    this.wake();
  }

  private wake(): void {
    const wakers = this.wakers;
    this.wakers = [];
    for (const wake of wakers) wake();
  }

  /** Resolves once `ready()` holds; rejects when the connection closes first. */
  async until<T>(ready: () => T | null | false): Promise<T> {
    for (;;) {
      const value = ready();
      if (value !== null && value !== false) return value;
      if (this.closed) throw this.closeReason ?? new Error('connection closed');
      await new Promise<void>((resolve) => this.wakers.push(resolve));
    }
  }
}

export async function connectAgent(port: number, tlsCa: Buffer | undefined, heartbeatMs = 200): Promise<FramedConnection> {
  let socket: net.Socket;
  if (tlsCa === undefined) {
    socket = net.connect(port, '127.0.0.1');
    await once(socket, 'connect');
  } else {
    socket = tls.connect({ host: '127.0.0.1', port, ca: tlsCa });
    await once(socket, 'secureConnect');
  }
  return new FramedConnection(socket, { maxFrameBytes: MAX_FRAME_BYTES, heartbeatMs, idleTimeoutMs: 0 });
}

/**
 * A minimal agent that backs up a local directory over the real protocol: post-order walk in byte order,
 * one plan round trip per chunk (not per file), credit honoured for entries and data bytes.
 */
export async function runBackup(options: BackupOptions): Promise<BackupResult> {
  const conn = await connectAgent(options.port, options.tlsCa);
  const box = new Mailbox(conn);
  let dataBytes = 0;
  let seq = 0;
  /** The last seq the receiver commits (a probe sent during a delta is never committed). */
  let lastCommittable = 0;
  let result: BackupResult | null = null;
  const snapshotResult = (): BackupResult => ({
    welcome: box.welcome,
    waits: box.waits,
    plans: [...box.plans.values()],
    committed: box.committed,
    done: box.done,
    closeReason: box.closeReason,
    dataBytes,
    chunksSent: seq,
    entriesSent,
    wireBytesOut: conn.stats.bytesOut,
    wireBytesIn: conn.stats.bytesIn,
    deltaFiles,
    resends: resent,
    offersKnown,
    heldChunks,
    reusedDirs,
    basisChunks: box.basisChunks,
  });
  const reusedDirs: string[] = [];
  const entriesSent = new Map<string, number>();
  let deltaFiles = 0;
  let resent = 0;
  let offersKnown = 0;
  const heldChunks: number[] = [];
  try {
    await conn.send({ type: MessageType.Hello, protocol: options.protocol ?? PROTOCOL_VERSION, role: 'backup', hostId: options.hostId, runId: options.runId, credential: options.credential, agentVersion: 'test' });
    const welcome = await box.until(() => box.welcome);
    conn.configureTimers({ heartbeatMs: Math.min(welcome.heartbeatMs, 1000), idleTimeoutMs: welcome.idleTimeoutMs });
    await options.afterWelcome?.(conn);
    const committedDirs = new Set(welcome.committedDirs.map((d) => d.toString('latin1')));
    const resumeAfter = new Map(welcome.resumeDirs.map(({ dir, after }) => [dir.toString('latin1'), after]));
    const perChunk = Math.min(options.chunkEntries ?? welcome.chunkMaxEntries, welcome.chunkMaxEntries);
    const frameBytes = options.dataFrameBytes ?? 256 * 1024;

    const sendData = async (chunkSeq: number, index: number, content: Buffer): Promise<void> => {
      for (let offset = 0; offset < content.length; offset += frameBytes) {
        const data = content.subarray(offset, offset + frameBytes);
        await box.until(() => box.bytes >= data.length);
        box.bytes -= data.length;
        dataBytes += data.length;
        await conn.send({ type: MessageType.FileData, seq: chunkSeq, index, data });
        if (options.stopAfterDataBytes !== undefined && dataBytes >= options.stopAfterDataBytes) throw new Stopped();
      }
    };
    // Protocol 7 names content by its content hash; older agents by the SHA-256 of its bytes.
    const legacyHash = (options.protocol ?? PROTOCOL_VERSION) < CONTENT_HASH_PROTOCOL_VERSION;
    const contentHash = (content: Buffer): Buffer => (legacyHash ? createHash('sha256').update(content).digest() : new ContentHasher().update(content).digest());
    const sendEnd = (chunkSeq: number, index: number, content: Buffer): Promise<void> =>
      conn.send({ type: MessageType.FileEnd, seq: chunkSeq, index, size: BigInt(content.length), sha256: contentHash(content), error: null });

    const sendFile = async (path: Buffer, chunkSeq: number, index: number, offer = true): Promise<void> => {
      const content = await readFile(path);
      if (offer && options.offerMinBytes !== undefined && content.length >= options.offerMinBytes) {
        const chunks: Buffer[] = [];
        for (let offset = 0; offset < content.length; offset += 1024 * 1024) chunks.push(createHash('sha256').update(content.subarray(offset, offset + 1024 * 1024)).digest());
        const sha256 = contentHash(content);
        await conn.send({ type: MessageType.ContentOffer, seq: chunkSeq, index, size: BigInt(content.length), sha256, chunks });
        const key = `${chunkSeq}/${index}`;
        const reply = await box.until(() => box.offerReplies.get(key) ?? null);
        if (reply.known) {
          offersKnown += 1;
          await sendEnd(chunkSeq, index, content);
          return;
        }
        heldChunks.push(reply.heldChunks);
        // The receiver holds the leading chunks: the rest follows, FileEnd names the whole file.
        await sendData(chunkSeq, index, content.subarray(reply.heldChunks * 1024 * 1024));
        await sendEnd(chunkSeq, index, content);
        return;
      }
      await sendData(chunkSeq, index, content);
      await sendEnd(chunkSeq, index, content);
    };

    const sendDelta = async (path: Buffer, chunkSeq: number, index: number): Promise<void> => {
      deltaFiles += 1;
      const content = await readFile(path);
      const signature = decodeSignature(Buffer.concat(box.signatures.get(`${chunkSeq}/${index}`) ?? []));
      const source = options.lyingDelta === true ? Buffer.from(content) : content;
      if (options.lyingDelta === true) source[source.length >> 1] = (source[source.length >> 1] as number) ^ 0xff;
      const basisChunks = box.basisChunks.get(`${chunkSeq}/${index}`);
      const deltaOptions = legacyHash ? { hash: 'sha256' as const } : { hash: 'content' as const, ...(basisChunks === undefined ? {} : { basisChunks }) };
      for await (const frame of encodeDelta(delta(signature, source, deltaOptions))) await sendData(chunkSeq, index, frame);
      await options.duringDelta?.(async () => {
        const probeSeq = ++seq;
        await conn.send({ type: MessageType.DirDigest, seq: probeSeq, dir: Buffer.from(`/no-such-directory-${probeSeq}`), digest: randomBytes(32) });
        const reply = await box.until(() => (box.digestReplies.has(probeSeq) ? { reused: box.digestReplies.get(probeSeq) === true } : null));
        return reply.reused;
      });
      await sendEnd(chunkSeq, index, content);
    };

    const pathsBySeq = new Map<number, { local: Buffer; entries: readonly EntryMeta[] }>();
    const sendResends = async (): Promise<void> => {
      for (let next = box.resends.shift(); next !== undefined; next = box.resends.shift()) {
        const chunk = pathsBySeq.get(next.seq);
        if (chunk === undefined) throw new Error(`Resend for unknown chunk ${next.seq}`);
        resent += 1;
        await sendFile(joinLocal(chunk.local, (chunk.entries[next.index] as EntryMeta).name), next.seq, next.index, false);
      }
    };

    const probe = async (snapshotPath: Buffer, digest: Buffer): Promise<boolean> => {
      const probeSeq = ++seq;
      lastCommittable = probeSeq;
      await conn.send({ type: MessageType.DirDigest, seq: probeSeq, dir: snapshotPath, digest });
      const reply = await box.until(() => (box.digestReplies.has(probeSeq) ? { reused: box.digestReplies.get(probeSeq) === true } : null));
      if (reply.reused) reusedDirs.push(snapshotPath.toString('latin1'));
      return reply.reused;
    };

    const digestOf = async (local: Buffer): Promise<Buffer | null> => {
      const all = await readEntries(local);
      const childDigests = new Map<string, Buffer | null>();
      for (const entry of all) if (entry.type === EntryType.Dir) childDigests.set(entry.name.toString('latin1'), await digestOf(joinLocal(local, entry.name)));
      return directoryDigest(all, (entry) => childDigests.get(entry.name.toString('latin1')) ?? null);
    };

    /** Sends a directory after its subdirectories; returns its digest (null when one below was skipped). */
    const sendDir = async (local: Buffer, snapshotPath: Buffer): Promise<Buffer | null> => {
      if (committedDirs.has(snapshotPath.toString('latin1'))) return null;
      const topDown = options.digests === true && options.topDown === true && !resumeAfter.has(snapshotPath.toString('latin1'));
      if (topDown) {
        const whole = await digestOf(local);
        if (whole !== null && (await probe(snapshotPath, whole))) return whole;
      }
      const all = await readEntries(local);
      const childDigests = new Map<string, Buffer | null>();
      for (const entry of all) {
        if (entry.type === EntryType.Dir) childDigests.set(entry.name.toString('latin1'), await sendDir(joinLocal(local, entry.name), joinPath(snapshotPath, entry.name)));
      }
      const digest = directoryDigest(all, (entry) => childDigests.get(entry.name.toString('latin1')) ?? null);
      const after = resumeAfter.get(snapshotPath.toString('latin1'));
      if (options.digests === true && !topDown && digest !== null && after === undefined && (await probe(snapshotPath, digest))) return digest;
      const entries = after === undefined ? all : all.filter((entry) => Buffer.compare(entry.name, after) > 0);
      const chunks: EntryMeta[][] = [];
      for (let i = 0; i < entries.length; i += perChunk) chunks.push(entries.slice(i, i + perChunk));
      if (chunks.length === 0) chunks.push([]);
      for (const [i, chunk] of chunks.entries()) {
        await box.until(() => box.ops >= chunk.length);
        box.ops -= chunk.length;
        const chunkSeq = ++seq;
        lastCommittable = chunkSeq;
        const body = { seq: chunkSeq, dir: snapshotPath, entries: chunk, last: i === chunks.length - 1 };
        await conn.send(options.packed === true ? { type: MessageType.PackedChunk, ...body } : { type: MessageType.Chunk, ...body });
        const key = snapshotPath.toString();
        entriesSent.set(key, (entriesSent.get(key) ?? 0) + chunk.length);
        const plan = await box.until(() => box.plans.get(chunkSeq) ?? null);
        pathsBySeq.set(chunkSeq, { local, entries: chunk });
        for (const [index, action] of plan.actions.entries()) {
          await sendResends();
          if (action === PlanAction.Whole) await sendFile(joinLocal(local, (chunk[index] as EntryMeta).name), chunkSeq, index);
          if (action === PlanAction.Delta) await sendDelta(joinLocal(local, (chunk[index] as EntryMeta).name), chunkSeq, index);
        }
        if (options.stopAfterPartialChunks !== undefined && i < chunks.length - 1) {
          await box.until(() => box.committed.some((c) => c.seq === chunkSeq));
          if (box.committed.filter((c) => !c.dirComplete).length >= options.stopAfterPartialChunks) throw new Stopped();
        }
      }
      if (options.stopAfterDirs !== undefined) {
        const lastSeq = lastCommittable;
        await box.until(() => box.committed.some((c) => c.seq === lastSeq));
        if (box.committed.filter((c) => c.dirComplete).length >= options.stopAfterDirs) throw new Stopped();
      }
      return digest;
    };

    await sendDir(Buffer.from(options.root), Buffer.from('/'));
    // A Resend can only come before its chunk is committed: wait for every chunk, sending what is asked again.
    const lastSeq = lastCommittable;
    while (options.finishUncommitted !== true) {
      await sendResends();
      if (box.committed.some((c) => c.seq === lastSeq)) break;
      await box.until(() => box.resends.length > 0 || box.committed.some((c) => c.seq === lastSeq));
    }
    await conn.send({ type: MessageType.Finish });
    await box.until(() => box.done);
    conn.close();
    await conn.whenClosed();
    result = snapshotResult();
  } catch (error) {
    if (error instanceof Stopped) {
      conn.close();
    } else if (!(error instanceof WireError)) {
      conn.close();
      throw error;
    }
    await conn.whenClosed();
    result = snapshotResult();
  }
  return result;
}
