import { EventEmitter } from 'node:events';
import { type Duplex } from 'node:stream';
import { encodeMessage, encodeMessageParts } from './codec';
import { WireError } from './errors';
import { FrameDecoder, type DecodedFrame } from './frame-decoder';
import { MAX_TEXT_BYTES } from './limits';
import { ErrorCode, MessageType, type Message, type OutgoingMessage } from './messages';
import { truncateUtf8 } from './text';

export interface FramedConnectionOptions {
  /** Largest frame accepted from the peer. */
  readonly maxFrameBytes: number;
  /** Heartbeat interval; 0 sends none. */
  readonly heartbeatMs: number;
  /** Close with a Timeout error when no whole frame arrives for this long; 0 disables. */
  readonly idleTimeoutMs: number;
  /** send() resolves while at most this many bytes wait in the stream's write buffer (default 2 MiB). */
  readonly writeBufferBytes?: number;
  /** Messages queued for the async iterator before reading from the stream pauses (default 256). */
  readonly readQueueLimit?: number;
  /** Frame bytes queued for the async iterator before reading pauses (default 8 MiB). */
  readonly readQueueBytes?: number;
  /** After close(), how long the peer has to finish before the stream is destroyed (default 2000 ms). */
  readonly closeGraceMs?: number;
}

export interface ConnectionStats {
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly framesIn: number;
  readonly framesOut: number;
}

type Listener = ((msg: Message) => void) | ((reason: WireError | null) => void);

interface Waiter {
  resolve(): void;
  reject(error: Error): void;
}

const DEFAULT_WRITE_BUFFER_BYTES = 2 * 1024 * 1024;
const DEFAULT_READ_QUEUE_LIMIT = 256;
const DEFAULT_READ_QUEUE_BYTES = 8 * 1024 * 1024;
const DEFAULT_CLOSE_GRACE_MS = 2000;
const HEARTBEAT_FRAME = encodeMessage({ type: MessageType.Heartbeat });

/**
 * Messages over any Duplex (a TCP or TLS socket). Heartbeats go out on their own timer whatever the data
 * traffic, so a peer throttled by credit or waiting for a slot is never mistaken for a dead one; any whole
 * frame received (heartbeats included) counts as life. Incoming Heartbeat frames are consumed here; an
 * incoming Error frame closes the connection with that error (remote = true) instead of being surfaced.
 *
 * Events: 'message' (Message) for every other frame, then exactly one 'close' (WireError | null) once the
 * stream is gone; null means close() was called without a reason.
 */
export class FramedConnection {
  private readonly events = new EventEmitter();
  private readonly decoder: FrameDecoder;
  private readonly writeBufferBytes: number;
  private readonly readQueueLimit: number;
  private readonly readQueueBytes: number;
  private readonly closeGraceMs: number;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  private idleTimeoutMs = 0;
  /** The timeout the running idle timer was armed with. */
  private idleTimerMs = 0;
  private destroyTimer: NodeJS.Timeout | null = null;
  private drainWaiters: Waiter[] = [];
  private closing = false;
  private closeEmitted = false;
  private reason: WireError | null = null;
  private readonly closedPromise: Promise<WireError | null>;
  private iterating = false;
  private pausedByReader = false;
  /** Size of the frame being delivered, so the iterator can bound its queue in bytes. */
  private currentFrameBytes = 0;
  private counters = { bytesIn: 0, bytesOut: 0, framesIn: 0, framesOut: 0 };
  /** Writes of the current tick are being gathered (see writeFrame). */
  private corked = false;

  constructor(
    private readonly stream: Duplex,
    options: FramedConnectionOptions,
  ) {
    this.decoder = new FrameDecoder({ maxFrameBytes: options.maxFrameBytes });
    this.writeBufferBytes = Math.max(options.writeBufferBytes ?? DEFAULT_WRITE_BUFFER_BYTES, stream.writableHighWaterMark);
    this.readQueueLimit = options.readQueueLimit ?? DEFAULT_READ_QUEUE_LIMIT;
    this.readQueueBytes = options.readQueueBytes ?? DEFAULT_READ_QUEUE_BYTES;
    this.closeGraceMs = options.closeGraceMs ?? DEFAULT_CLOSE_GRACE_MS;
    this.closedPromise = new Promise((resolve) => this.events.once('close', resolve));
    stream.on('data', (chunk: Buffer) => this.onData(chunk));
    stream.on('drain', () => this.settleDrainWaiters(null));
    stream.on('end', () => this.lost('peer closed the connection'));
    stream.on('error', (error: Error) => this.lost(`connection error: ${error.message}`));
    stream.on('close', () => this.onStreamClose());
    this.configureTimers({ heartbeatMs: options.heartbeatMs, idleTimeoutMs: options.idleTimeoutMs });
  }

  get closed(): boolean {
    return this.closing;
  }

  /** Why the connection closed (null while open or when closed without a reason). */
  get closeReason(): WireError | null {
    return this.reason;
  }

  get stats(): ConnectionStats {
    return { ...this.counters };
  }

  on(event: 'message', listener: (msg: Message) => void): this;
  on(event: 'close', listener: (reason: WireError | null) => void): this;
  on(event: 'message' | 'close', listener: Listener): this {
    this.events.on(event, listener);
    return this;
  }

  once(event: 'message', listener: (msg: Message) => void): this;
  once(event: 'close', listener: (reason: WireError | null) => void): this;
  once(event: 'message' | 'close', listener: Listener): this {
    this.events.once(event, listener);
    return this;
  }

  off(event: 'message' | 'close', listener: Listener): this {
    this.events.off(event, listener);
    return this;
  }

  /** Resolves with the close reason once the underlying stream is gone. */
  whenClosed(): Promise<WireError | null> {
    return this.closedPromise;
  }

  /** Restarts both timers, e.g. with the intervals negotiated in Welcome. */
  configureTimers(timers: { heartbeatMs: number; idleTimeoutMs: number }): void {
    if (this.heartbeatTimer !== null) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
    if (!this.closing && timers.heartbeatMs > 0) {
      this.heartbeatTimer = setInterval(() => this.sendHeartbeat(), timers.heartbeatMs);
      this.heartbeatTimer.unref();
    }
    this.idleTimeoutMs = timers.idleTimeoutMs;
    this.armIdleTimer();
  }

  /** Largest frame accepted from now on (e.g. after negotiation). */
  setMaxFrameBytes(maxFrameBytes: number): void {
    this.decoder.setMaxFrameBytes(maxFrameBytes);
  }

  /**
   * Queues one message. Resolves once the stream's write buffer holds at most writeBufferBytes (the peer
   * is keeping up); rejects when the connection is or becomes closed before that. A FileData message's data is
   * written as it is, not copied: it must not be modified until `onWritten` is called, once the frame has left the
   * stream (handed to the operating system) or can no longer be written (the connection failed). The caller may
   * then reuse the data's memory, and not before: send() may reject after the frame was queued (the connection
   * closed while it waited for the buffer to drain), and `onWritten` still follows then, so a rejection alone never
   * means the data is free. `onWritten` is not called when send() rejects before queuing the frame (a closed
   * connection, a message that cannot be encoded), nor when the stream is destroyed without settling its pending
   * writes. Net and TLS sockets settle them all (a write libuv was still holding when the socket was destroyed
   * completes without an error, though the peer never got it): on those, `onWritten` comes for every queued frame.
   */
  send(msg: OutgoingMessage, onWritten?: () => void): Promise<void> {
    if (this.closing) return Promise.reject(this.closedError());
    let parts: readonly Buffer[];
    try {
      parts = encodeMessageParts(msg);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    this.writeFrame(parts, onWritten);
    if (this.stream.writableLength <= this.writeBufferBytes) return Promise.resolve();
    return new Promise((resolve, reject) => this.drainWaiters.push({ resolve, reject }));
  }

  /**
   * Closes once: sends Error(code, message) first when given a local reason, ends the stream, and destroys
   * it if the peer has not finished within closeGraceMs.
   */
  close(reason: WireError | null = null): void {
    if (this.closing) return;
    this.closing = true;
    this.reason = reason;
    this.stopTimers();
    if (reason !== null && !reason.remote && this.stream.writable) {
      this.writeFrame(encodeMessage({ type: MessageType.Error, code: reason.code, message: truncateUtf8(reason.message, MAX_TEXT_BYTES) }));
    }
    this.settleDrainWaiters(this.closedError());
    if (this.pausedByReader) this.stream.resume();
    this.stream.end();
    this.destroyTimer = setTimeout(() => this.stream.destroy(), this.closeGraceMs);
    this.destroyTimer.unref();
    this.events.emit('closing', reason);
  }

  /** Incoming messages in order; ends after a reasonless close, throws the close reason otherwise. */
  async *[Symbol.asyncIterator](): AsyncGenerator<Message, void, undefined> {
    if (this.iterating) throw new Error('FramedConnection supports one iterator at a time');
    this.iterating = true;
    const queue: Array<{ msg: Message; bytes: number }> = [];
    let queuedBytes = 0;
    let wake: (() => void) | null = null;
    const onMessage = (msg: Message): void => {
      queue.push({ msg, bytes: this.currentFrameBytes });
      queuedBytes += this.currentFrameBytes;
      if (queue.length >= this.readQueueLimit || queuedBytes >= this.readQueueBytes) this.pauseReading();
      wake?.();
    };
    const onClosing = (): void => wake?.();
    this.events.on('message', onMessage);
    this.events.on('closing', onClosing);
    try {
      for (;;) {
        const next = queue.shift();
        if (next !== undefined) {
          queuedBytes -= next.bytes;
          if (queue.length <= this.readQueueLimit / 2 && queuedBytes <= this.readQueueBytes / 2) this.resumeReading();
          yield next.msg;
          continue;
        }
        if (this.closing) {
          if (this.reason !== null) throw this.reason;
          return;
        }
        await new Promise<void>((resolve) => (wake = resolve));
        wake = null;
      }
    } finally {
      this.events.off('message', onMessage);
      this.events.off('closing', onClosing);
      this.resumeReading();
      this.iterating = false;
    }
  }

  private writeFrame(parts: Buffer | readonly Buffer[], onWritten?: () => void): void {
    const buffers = Buffer.isBuffer(parts) ? [parts] : parts;
    for (const part of buffers) this.counters.bytesOut += part.length;
    this.counters.framesOut += 1;
    // Frames written in one tick leave in one writev (one syscall, and one TLS record batch) instead of one
    // write each: with 26,000 small files that is tens of thousands of syscalls fewer.
    if (!this.corked) {
      this.corked = true;
      this.stream.cork();
      process.nextTick(() => this.uncork());
    }
    const last = buffers.length - 1;
    // A stream completes its writes in order: the last part's callback comes after the whole frame was written.
    // It is called with an error instead when the stream was destroyed first; either way the stream is done with it.
    buffers.forEach((part, i) => (i === last && onWritten !== undefined ? this.stream.write(part, () => onWritten()) : this.stream.write(part)));
  }

  private uncork(): void {
    this.corked = false;
    this.stream.uncork();
  }

  private sendHeartbeat(): void {
    if (!this.closing && this.stream.writable) this.writeFrame(HEARTBEAT_FRAME);
  }

  private onData(chunk: Buffer): void {
    if (this.closing) return;
    this.counters.bytesIn += chunk.length;
    let frames: DecodedFrame[];
    try {
      frames = this.decoder.pushFrames(chunk);
    } catch (error) {
      this.close(error instanceof WireError ? error : WireError.protocol(String(error)));
      return;
    }
    // Once per read, not per frame: re-arming a timer for each of thousands of small frames was a measurable
    // share of the receiver's CPU, and a read that completes a frame proves the peer alive just as well.
    if (frames.length > 0) this.armIdleTimer();
    for (const frame of frames) {
      if (this.closing) return;
      this.counters.framesIn += 1;
      this.deliver(frame);
    }
  }

  private deliver(frame: DecodedFrame): void {
    const msg = frame.message;
    if (msg.type === MessageType.Heartbeat) return;
    if (msg.type === MessageType.Error) {
      this.close(new WireError(msg.code, msg.message, true));
      return;
    }
    try {
      this.currentFrameBytes = frame.bytes;
      this.events.emit('message', msg);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.close(error instanceof WireError ? error : new WireError(ErrorCode.Internal, `message handler failed: ${message}`));
    }
  }

  private armIdleTimer(): void {
    if (this.idleTimer !== null && this.idleTimerMs === this.idleTimeoutMs && !this.closing && !this.pausedByReader) {
      // The same timeout again: restart the timer in place rather than replace it.
      this.idleTimer.refresh();
      return;
    }
    if (this.idleTimer !== null) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    if (this.closing || this.pausedByReader || this.idleTimeoutMs <= 0) return;
    const timeoutMs = this.idleTimeoutMs;
    this.idleTimerMs = timeoutMs;
    this.idleTimer = setTimeout(() => this.close(new WireError(ErrorCode.Timeout, `no frame received for ${timeoutMs} ms`)), timeoutMs);
    this.idleTimer.unref();
  }

  // While our own reader is behind we stop reading; the peer is not silent, we are not listening, so the
  // idle timer is suspended until reading resumes.
  private pauseReading(): void {
    if (this.pausedByReader || this.closing) return;
    this.pausedByReader = true;
    this.stream.pause();
    if (this.idleTimer !== null) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }

  private resumeReading(): void {
    if (!this.pausedByReader) return;
    this.pausedByReader = false;
    this.stream.resume();
    this.armIdleTimer();
  }

  private stopTimers(): void {
    if (this.heartbeatTimer !== null) clearInterval(this.heartbeatTimer);
    if (this.idleTimer !== null) clearTimeout(this.idleTimer);
    this.heartbeatTimer = null;
    this.idleTimer = null;
  }

  private lost(why: string): void {
    if (this.closing) return;
    this.close(new WireError(ErrorCode.ConnectionLost, why, true));
  }

  private onStreamClose(): void {
    this.lost('connection closed');
    if (this.destroyTimer !== null) clearTimeout(this.destroyTimer);
    this.settleDrainWaiters(this.closedError());
    if (this.closeEmitted) return;
    this.closeEmitted = true;
    this.events.emit('close', this.reason);
  }

  private settleDrainWaiters(error: Error | null): void {
    if (this.drainWaiters.length === 0) return;
    if (error === null && this.stream.writableLength > this.writeBufferBytes) return;
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const waiter of waiters) {
      if (error === null) waiter.resolve();
      else waiter.reject(error);
    }
  }

  private closedError(): WireError {
    return this.reason ?? new WireError(ErrorCode.ConnectionLost, 'connection closed');
  }
}
