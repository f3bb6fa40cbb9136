import { decodeFrameBody } from './codec';
import { WireError } from './errors';
import { FRAME_HEADER_BYTES } from './limits';
import { ErrorCode, MAX_FRAME_BYTES, type Message } from './messages';

export interface DecodedFrame {
  readonly message: Message;
  readonly bytes: number;
}

export interface FrameDecoderOptions {
  /** Largest accepted frame body (type byte + payload), at most MAX_FRAME_BYTES. */
  readonly maxFrameBytes: number;
}

/**
 * Turns a byte stream cut anywhere into messages. The length header is checked before anything of the body
 * is buffered, so a hostile peer cannot make us hold more than maxFrameBytes. After the first error the
 * decoder stays failed: the stream cannot be resynchronised.
 */
export class FrameDecoder {
  private maxFrameBytes: number;
  private readonly pending: Buffer[] = [];
  private pendingBytes = 0;
  private failure: WireError | null = null;

  constructor(options: FrameDecoderOptions) {
    this.maxFrameBytes = checkLimit(options.maxFrameBytes);
  }

  /** Bytes received but not yet part of a complete frame. */
  get bufferedBytes(): number {
    return this.pendingBytes;
  }

  setMaxFrameBytes(maxFrameBytes: number): void {
    this.maxFrameBytes = checkLimit(maxFrameBytes);
  }

  push(chunk: Buffer): Message[] {
    return this.pushFrames(chunk).map((frame) => frame.message);
  }

  /** Like push, with each message's frame size (header included), for callers that bound what they queue. */
  pushFrames(chunk: Buffer): DecodedFrame[] {
    if (this.failure !== null) throw this.failure;
    if (chunk.length > 0) {
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
    }
    const frames: DecodedFrame[] = [];
    try {
      for (;;) {
        const body = this.nextBody();
        if (body === null) return frames;
        frames.push({ message: decodeFrameBody(body), bytes: FRAME_HEADER_BYTES + body.length });
      }
    } catch (error) {
      this.failure = error instanceof WireError ? error : WireError.protocol(String(error));
      throw this.failure;
    }
  }

  private nextBody(): Buffer | null {
    if (this.pendingBytes < FRAME_HEADER_BYTES) return null;
    const length = this.peekLength();
    if (length === 0) throw WireError.protocol('empty frame (no type byte)');
    if (length > this.maxFrameBytes) {
      throw new WireError(ErrorCode.FrameTooLarge, `frame of ${length} bytes exceeds the limit of ${this.maxFrameBytes}`);
    }
    if (this.pendingBytes < FRAME_HEADER_BYTES + length) return null;
    this.take(FRAME_HEADER_BYTES);
    return this.take(length);
  }

  private peekLength(): number {
    const first = this.pending[0] as Buffer;
    if (first.length >= FRAME_HEADER_BYTES) return first.readUInt32BE(0);
    const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
    let filled = 0;
    for (const part of this.pending) {
      filled += part.copy(header, filled, 0, Math.min(part.length, FRAME_HEADER_BYTES - filled));
      if (filled === FRAME_HEADER_BYTES) break;
    }
    return header.readUInt32BE(0);
  }

  /** Removes exactly `count` buffered bytes: a view when they lie in one chunk, a copy otherwise. */
  private take(count: number): Buffer {
    this.pendingBytes -= count;
    const first = this.pending[0] as Buffer;
    if (first.length >= count) {
      if (first.length === count) this.pending.shift();
      else this.pending[0] = first.subarray(count);
      return first.subarray(0, count);
    }
    const out = Buffer.allocUnsafe(count);
    let filled = 0;
    // Over a slow link a 1 MiB frame arrives in hundreds of small reads: the parts used up are dropped in one
    // splice at the end, not shifted off one by one (each shift moves every part behind it).
    let used = 0;
    while (filled < count) {
      const part = this.pending[used] as Buffer;
      const length = Math.min(part.length, count - filled);
      part.copy(out, filled, 0, length);
      filled += length;
      if (length === part.length) used += 1;
      else this.pending[used] = part.subarray(length);
    }
    this.pending.splice(0, used);
    return out;
  }
}

function checkLimit(maxFrameBytes: number): number {
  if (!Number.isInteger(maxFrameBytes) || maxFrameBytes < 1 || maxFrameBytes > MAX_FRAME_BYTES) {
    throw new RangeError(`maxFrameBytes must be an integer in 1..${MAX_FRAME_BYTES}, got ${maxFrameBytes}`);
  }
  return maxFrameBytes;
}
