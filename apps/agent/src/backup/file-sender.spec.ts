import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CONTENT_CHUNK_BYTES, ContentHasher } from '@berth/delta';
import { FrameDecoder, FramedConnection, MessageType, type Message } from '@berth/wire';
import { BatchReader } from './batch-reader';
import { ChunkBufferPool, chunkBuffers } from './chunk-buffers';
import { CreditWindow } from './credit-window';
import { sendContent, sendFile } from './file-sender';

describe('ChunkBufferPool', () => {
  it('hands back a returned buffer and keeps at most maxIdle', () => {
    const pool = new ChunkBufferPool(4096, 2);
    const [a, b, c] = [pool.take(), pool.take(), pool.take()];
    expect(a.length).toBe(4096);
    pool.give(a);
    pool.give(b);
    pool.give(c);
    expect(pool.idleCount).toBe(2);
    expect([b, a]).toContain(pool.take());
  });

  it('ignores what it did not hand out: views, other sizes, a buffer given twice', () => {
    const pool = new ChunkBufferPool(4096, 4);
    const a = pool.take();
    pool.give(a.subarray(0, 100));
    pool.give(Buffer.alloc(4096 * 2).subarray(0, 4096));
    pool.give(Buffer.alloc(100));
    expect(pool.idleCount).toBe(0);
    pool.give(a);
    pool.give(a);
    expect(pool.idleCount).toBe(1);
  });
});

describe('sending from reused read buffers', () => {
  let dir: string;
  let server: net.Server;
  const sockets: net.Socket[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'file-sender-'));
    server = net.createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
  });

  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    server.close();
    await once(server, 'close');
    rmSync(dir, { recursive: true, force: true });
  });

  /** Waits until `done`, failing after `ms` (a frame lost or corrupted never arrives). */
  async function waitFor(what: string, done: () => boolean, ms = 4000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  async function connectPair(): Promise<{ client: net.Socket; peer: net.Socket }> {
    const address = server.address() as net.AddressInfo;
    const accepted = once(server, 'connection') as Promise<[net.Socket]>;
    const client = net.connect(address.port, '127.0.0.1');
    await once(client, 'connect');
    const [peer] = await accepted;
    sockets.push(client, peer);
    return { client, peer };
  }

  it('sends every byte of a large file intact while a buffer is reused only after the connection wrote it', async () => {
    const content = randomBytes(32 * CONTENT_CHUNK_BYTES + 777);
    const file = path.join(dir, 'large.bin');
    writeFileSync(file, content);
    const { client, peer } = await connectPair();
    // The peer reads nothing at first: once the kernel's buffers are full, frames wait in the sender's stream (up to
    // 4 MiB before send() holds) while later reads need buffers.
    peer.pause();
    const conn = new FramedConnection(client, { maxFrameBytes: 2 * CONTENT_CHUNK_BYTES, heartbeatMs: 0, idleTimeoutMs: 0, writeBufferBytes: 4 * CONTENT_CHUNK_BYTES });
    const taken = new Set<ArrayBufferLike>();
    let takes = 0;
    const take = jest.spyOn(chunkBuffers, 'take');
    take.mockImplementation(function (this: ChunkBufferPool) {
      const buffer = ChunkBufferPool.prototype.take.call(this);
      takes += 1;
      taken.add(buffer.buffer);
      return buffer;
    });
    const decoder = new FrameDecoder({ maxFrameBytes: 2 * CONTENT_CHUNK_BYTES });
    const received: Message[] = [];
    peer.on('data', (chunk: Buffer) => received.push(...decoder.push(chunk)));
    setTimeout(() => peer.resume(), 300);
    try {
      const result = await sendFile(
        { seq: 1, index: 2, path: Buffer.from(file), expectedSize: BigInt(content.length) },
        new CreditWindow(1 << 30, 1000),
        (message, onWritten) => conn.send(message, onWritten),
        () => undefined,
      );
      expect(result).toEqual({ size: BigInt(content.length), error: null });
      await waitFor('FileEnd', () => received.some((msg) => msg.type === MessageType.FileEnd));
    } finally {
      take.mockRestore();
    }
    const data = Buffer.concat(received.flatMap((msg) => (msg.type === MessageType.FileData ? [msg.data] : [])));
    expect(data.equals(content)).toBe(true);
    const end = received.at(-1);
    expect(end?.type === MessageType.FileEnd && end.sha256.equals(new ContentHasher().update(content).digest())).toBe(true);
    // 33 reads from a handful of buffers: the ones written were taken again.
    expect(takes).toBe(33);
    expect(taken.size).toBeLessThan(16);
    conn.close();
  });

  it('gives a batch of small files back to the reader only once the connection wrote all of it', async () => {
    const { client, peer } = await connectPair();
    // Large enough for the kernel's buffers to fill while the peer is paused, so most frames wait in the stream.
    const conn = new FramedConnection(client, { maxFrameBytes: 2 * CONTENT_CHUNK_BYTES, heartbeatMs: 0, idleTimeoutMs: 0, writeBufferBytes: 64 * CONTENT_CHUNK_BYTES });
    const reader = new BatchReader({ maxBuffers: 4, maxBytes: 64 * CONTENT_CHUNK_BYTES, idleMs: 60_000 });
    const write = (prefix: string): Array<{ path: Buffer; expectedSize: number; data: Buffer }> =>
      Array.from({ length: 12 }, (_, i) => {
        const data = randomBytes(CONTENT_CHUNK_BYTES - 1000 * i);
        const file = path.join(dir, `${prefix}-${i}`);
        writeFileSync(file, data);
        return { path: Buffer.from(file), expectedSize: data.length, data };
      });
    const decoder = new FrameDecoder({ maxFrameBytes: 2 * CONTENT_CHUNK_BYTES });
    const received: Message[] = [];
    peer.pause();
    peer.on('data', (chunk: Buffer) => received.push(...decoder.push(chunk)));
    const credit = new CreditWindow(1 << 30, 1000);
    const send = (message: Message, onWritten?: () => void): Promise<void> => conn.send(message, onWritten);
    const batches = [write('x'), write('y'), write('z')];
    let index = 0;
    // Batch x is queued behind the paused peer, then y is read and queued while x's frames still wait: y must not be
    // read into x's buffer. z, read once everything was written, reuses a buffer given back.
    for (const [round, batch] of batches.entries()) {
      if (round === 2) {
        peer.resume();
        await waitFor('the first two batches', () => received.filter((msg) => msg.type === MessageType.FileEnd).length === 24);
      }
      const contents = await reader.read(batch);
      for (const [i, content] of contents.entries()) {
        await sendContent({ seq: 1, index: index++, path: batch[i]!.path, expectedSize: BigInt(batch[i]!.expectedSize) }, content, credit, send, () => undefined);
      }
    }
    await waitFor('all three batches', () => received.filter((msg) => msg.type === MessageType.FileEnd).length === 36);
    const files = batches.flat();
    const data = new Map<number, Buffer[]>();
    for (const msg of received) if (msg.type === MessageType.FileData) data.set(msg.index, [...(data.get(msg.index) ?? []), msg.data]);
    files.forEach((file, i) => expect(Buffer.concat(data.get(i) ?? []).equals(file.data)).toBe(true));
    expect(reader.stats).toEqual({ batches: 3, reused: 1 });
    conn.close();
  });
});
