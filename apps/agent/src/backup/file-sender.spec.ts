import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CONTENT_CHUNK_BYTES, ContentHasher } from '@berth/delta';
import { FrameDecoder, FramedConnection, MessageType, type Message } from '@berth/wire';
import { ChunkBufferPool, chunkBuffers } from './chunk-buffers';
import { CreditWindow } from './credit-window';
import { sendFile } from './file-sender';

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

describe('sendFile with reused read buffers', () => {
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

  it('sends every byte intact while a buffer is reused only after the connection wrote it', async () => {
    const content = randomBytes(32 * CONTENT_CHUNK_BYTES + 777);
    const file = path.join(dir, 'large.bin');
    writeFileSync(file, content);
    const address = server.address() as net.AddressInfo;
    const accepted = once(server, 'connection') as Promise<[net.Socket]>;
    const client = net.connect(address.port, '127.0.0.1');
    await once(client, 'connect');
    const [peer] = await accepted;
    sockets.push(client, peer);
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
      while (!received.some((msg) => msg.type === MessageType.FileEnd)) await new Promise((resolve) => setTimeout(resolve, 10));
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
});
