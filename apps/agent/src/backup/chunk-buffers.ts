/**
 * Reused buffers of one content chunk (1 MiB) for reading large files. A fresh buffer of that size is new memory
 * from the kernel each time: 256 page faults, which cost 3-40 µs each on the virtual machines measured (up to 10 ms
 * per MiB read, more than reading and hashing it). A buffer goes back to the pool only once nothing refers to it any
 * more: after a hash of it, or once the connection has written the frames sent from it (FramedConnection.send's
 * onWritten). One that never comes back (a session that failed mid-write) is simply collected.
 */
import { CONTENT_CHUNK_BYTES } from '@berth/delta';

export class ChunkBufferPool {
  private readonly idle: Buffer[] = [];

  constructor(
    readonly bufferBytes: number,
    /** Idle buffers kept; more are left to the garbage collector. A few MiB are in flight at once (send's bound). */
    private readonly maxIdle: number,
  ) {}

  /** A buffer of bufferBytes, reused when one is idle. Its contents are whatever was there. */
  take(): Buffer {
    return this.idle.pop() ?? Buffer.allocUnsafeSlow(this.bufferBytes);
  }

  /** Returns a buffer from take() that nothing refers to any more (a view of it or of another is ignored). */
  give(buffer: Buffer): void {
    if (buffer.length !== this.bufferBytes || buffer.byteOffset !== 0 || buffer.buffer.byteLength !== this.bufferBytes) return;
    if (this.idle.length >= this.maxIdle || this.idle.includes(buffer)) return;
    this.idle.push(buffer);
  }

  get idleCount(): number {
    return this.idle.length;
  }
}

/** The agent's pool of chunk buffers, shared by its file reads. */
export const chunkBuffers = new ChunkBufferPool(CONTENT_CHUNK_BYTES, 8);
