import { once } from 'node:events';
import net from 'node:net';
import { encodeMessage } from './codec';
import { WireError } from './errors';
import { FrameDecoder } from './frame-decoder';
import { FramedConnection, type FramedConnectionOptions } from './framed-connection';
import { ErrorCode, MessageType, type Message } from './messages';

const quiet: FramedConnectionOptions = { maxFrameBytes: 1024 * 1024, heartbeatMs: 0, idleTimeoutMs: 0 };
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

let server: net.Server;
const sockets: net.Socket[] = [];

beforeAll(async () => {
  server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
});

afterEach(() => {
  for (const socket of sockets.splice(0)) socket.destroy();
});

afterAll(async () => {
  server.close();
  await once(server, 'close');
});

/** A connected pair of real TCP sockets over loopback. */
async function socketPair(): Promise<[net.Socket, net.Socket]> {
  const address = server.address() as net.AddressInfo;
  const accepted = once(server, 'connection') as Promise<[net.Socket]>;
  const client = net.connect(address.port, '127.0.0.1');
  await once(client, 'connect');
  const [serverSide] = await accepted;
  sockets.push(client, serverSide);
  return [serverSide, client];
}

/** Collects every frame a raw socket receives, heartbeats included. */
function rawFrames(socket: net.Socket): Message[] {
  const decoder = new FrameDecoder({ maxFrameBytes: 1024 * 1024 });
  const frames: Message[] = [];
  socket.on('data', (chunk: Buffer) => frames.push(...decoder.push(chunk)));
  return frames;
}

describe('FramedConnection', () => {
  it('delivers messages in order through events and async iteration', async () => {
    const [a, b] = await socketPair();
    const sender = new FramedConnection(a, quiet);
    const receiver = new FramedConnection(b, quiet);
    const sent: Message[] = Array.from({ length: 50 }, (_, i) => ({ type: MessageType.Credit, bytes: i, ops: i * 2 }));
    const viaEvents: Message[] = [];
    receiver.on('message', (msg) => viaEvents.push(msg));
    const viaIterator: Message[] = [];
    const iteration = (async () => {
      for await (const msg of receiver) {
        viaIterator.push(msg);
        if (viaIterator.length === sent.length) break;
      }
    })();
    for (const msg of sent) await sender.send(msg);
    await iteration;
    expect(viaIterator).toEqual(sent);
    expect(viaEvents).toEqual(sent);
    expect(receiver.stats.framesIn).toBe(50);
  });

  it('sends heartbeats on a timer while the application sends nothing, and does not surface them', async () => {
    const [a, b] = await socketPair();
    const conn = new FramedConnection(a, { ...quiet, heartbeatMs: 20 });
    const frames = rawFrames(b);
    await sleep(300);
    const heartbeats = frames.filter((f) => f.type === MessageType.Heartbeat).length;
    expect(heartbeats).toBeGreaterThanOrEqual(5);
    expect(heartbeats).toBeLessThanOrEqual(16);

    const peer = new FramedConnection(b, quiet);
    const surfaced: Message[] = [];
    peer.on('message', (m) => surfaced.push(m));
    await sleep(100);
    expect(surfaced).toEqual([]);
    expect(peer.stats.framesIn).toBeGreaterThan(0);
    conn.close();
  });

  it('keeps a silent but heartbeating peer alive past the idle timeout', async () => {
    const [a, b] = await socketPair();
    // An idle timeout a busy test machine's event-loop stalls cannot reach, still far below the time waited.
    const one = new FramedConnection(a, { ...quiet, heartbeatMs: 30, idleTimeoutMs: 400 });
    const two = new FramedConnection(b, { ...quiet, heartbeatMs: 30, idleTimeoutMs: 400 });
    await sleep(1200);
    expect(one.closed).toBe(false);
    expect(two.closed).toBe(false);
    one.close();
    expect(await two.whenClosed()).toMatchObject({ code: ErrorCode.ConnectionLost, remote: true });
  });

  it('closes with a Timeout error when a frame stalls half-way, and tells the peer', async () => {
    const [a, b] = await socketPair();
    const conn = new FramedConnection(a, { ...quiet, idleTimeoutMs: 150 });
    const frames = rawFrames(b);
    const frame = encodeMessage({ type: MessageType.Wait, position: 3, timers: null });
    b.write(frame.subarray(0, 5));
    const started = Date.now();
    const reason = await conn.whenClosed();
    expect(reason?.code).toBe(ErrorCode.Timeout);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    await sleep(20);
    expect(frames).toEqual([{ type: MessageType.Error, code: ErrorCode.Timeout, message: 'no frame received for 150 ms' }]);
  });

  it('closes on a malformed frame with the decoder error and sends it to the peer', async () => {
    const [a, b] = await socketPair();
    const conn = new FramedConnection(a, { ...quiet, maxFrameBytes: 1000 });
    const frames = rawFrames(b);
    const closeEvents: Array<WireError | null> = [];
    conn.on('close', (reason) => closeEvents.push(reason));
    const peerEnded = once(b, 'end');
    b.write(Buffer.from([0x00, 0x10, 0x00, 0x00]));
    const reason = await conn.whenClosed();
    expect(reason?.code).toBe(ErrorCode.FrameTooLarge);
    await peerEnded;
    expect(frames).toEqual([expect.objectContaining({ type: MessageType.Error, code: ErrorCode.FrameTooLarge })]);
    expect(closeEvents).toHaveLength(1);
  });

  it('turns an Error frame from the peer into its close reason', async () => {
    const [a, b] = await socketPair();
    const one = new FramedConnection(a, quiet);
    const two = new FramedConnection(b, quiet);
    const seen: Message[] = [];
    two.on('message', (m) => seen.push(m));
    one.close(new WireError(ErrorCode.ShuttingDown, 'receiver is stopping'));
    const reason = await two.whenClosed();
    expect(reason).toMatchObject({ code: ErrorCode.ShuttingDown, message: 'receiver is stopping', remote: true });
    expect(seen).toEqual([]);
    expect(await one.whenClosed()).toMatchObject({ code: ErrorCode.ShuttingDown, remote: false });
  });

  it('makes the async iterator throw the close reason after queued messages', async () => {
    const [a, b] = await socketPair();
    const one = new FramedConnection(a, quiet);
    const two = new FramedConnection(b, quiet);
    await one.send({ type: MessageType.Wait, position: 1, timers: null });
    one.close(new WireError(ErrorCode.Forbidden, 'no'));
    const got: Message[] = [];
    await expect(
      (async () => {
        for await (const msg of two) got.push(msg);
      })(),
    ).rejects.toMatchObject({ code: ErrorCode.Forbidden });
    expect(got).toEqual([{ type: MessageType.Wait, position: 1, timers: null }]);
  });

  it('rejects send after close', async () => {
    const [a] = await socketPair();
    const conn = new FramedConnection(a, quiet);
    conn.close();
    await expect(conn.send({ type: MessageType.Finish })).rejects.toBeInstanceOf(WireError);
    expect(await conn.whenClosed()).toBeNull();
  });

  it('holds send() while the peer does not read, and releases it when the peer catches up', async () => {
    const [a, b] = await socketPair();
    b.pause();
    const conn = new FramedConnection(a, { ...quiet, writeBufferBytes: 256 * 1024 });
    const data = Buffer.alloc(64 * 1024, 7);
    let resolvedSends = 0;
    const pending: Array<Promise<void>> = [];
    let blocked = false;
    for (let i = 0; i < 2000 && !blocked; i++) {
      const sent = conn.send({ type: MessageType.FileData, seq: 0, index: i, data }).then(() => void resolvedSends++);
      pending.push(sent);
      blocked = await Promise.race([sent.then(() => false), sleep(50).then(() => true)]);
    }
    expect(blocked).toBe(true);
    // Kernel buffers absorb some; what waits in our process stays near the configured bound.
    expect(a.writableLength).toBeLessThanOrEqual(256 * 1024 + 70 * 1024);
    const decoder = new FrameDecoder({ maxFrameBytes: 1024 * 1024 });
    let received = 0;
    b.on('data', (chunk: Buffer) => (received += decoder.push(chunk).length));
    b.resume();
    await Promise.all(pending);
    expect(resolvedSends).toBe(pending.length);
    while (received < pending.length) await sleep(10);
    expect(received).toBe(pending.length);
  });

  it('tells when a frame has left the stream, never before: data overwritten then still arrives intact', async () => {
    const [a, b] = await socketPair();
    b.pause();
    const conn = new FramedConnection(a, { ...quiet, writeBufferBytes: 256 * 1024 });
    const frames = 64;
    const written: number[] = [];
    const sends: Array<Promise<void>> = [];
    for (let i = 0; i < frames; i++) {
      const data = Buffer.alloc(64 * 1024, i);
      // Reusing the memory as soon as it is released: any early release would corrupt what the peer reads.
      sends.push(conn.send({ type: MessageType.FileData, seq: 0, index: i, data }, () => (written.push(i), data.fill(0xff))));
    }
    await sleep(50);
    // The peer reads nothing: what still waits in our stream has not been reported written.
    expect(a.writableLength).toBeGreaterThan(64 * 1024);
    expect(written.length).toBeLessThanOrEqual(frames - Math.floor(a.writableLength / (64 * 1024 + 16)));
    const decoder = new FrameDecoder({ maxFrameBytes: 1024 * 1024 });
    const received: Message[] = [];
    b.on('data', (chunk: Buffer) => received.push(...decoder.push(chunk)));
    b.resume();
    await Promise.all(sends);
    while (received.length < frames) await sleep(10);
    expect(written).toEqual(Array.from({ length: frames }, (_, i) => i));
    for (const msg of received) {
      if (msg.type !== MessageType.FileData) throw new Error(`unexpected message ${msg.type}`);
      expect(msg.data.equals(Buffer.alloc(64 * 1024, msg.index))).toBe(true);
    }
  });

  it('releases the data of frames that can no longer be written when the connection fails', async () => {
    const [a, b] = await socketPair();
    b.pause();
    const conn = new FramedConnection(a, { ...quiet, writeBufferBytes: 256 * 1024 });
    let released = 0;
    for (let i = 0; i < 64; i++) void conn.send({ type: MessageType.FileData, seq: 0, index: i, data: Buffer.alloc(64 * 1024, 1) }, () => void released++).catch(() => undefined);
    await sleep(50);
    expect(released).toBeLessThan(64);
    a.destroy();
    await conn.whenClosed();
    while (released < 64) await sleep(10);
    expect(released).toBe(64);
    // A send refused before queuing never calls back.
    let late = false;
    await expect(conn.send({ type: MessageType.FileData, seq: 0, index: 64, data: Buffer.alloc(64 * 1024) }, () => (late = true))).rejects.toBeInstanceOf(WireError);
    await sleep(20);
    expect(late).toBe(false);
  });

  it('pauses reading while the iterator falls behind without timing out', async () => {
    const [a, b] = await socketPair();
    const sender = new FramedConnection(a, { ...quiet, heartbeatMs: 20 });
    const reader = new FramedConnection(b, { ...quiet, idleTimeoutMs: 300, readQueueLimit: 4 });
    for (let i = 0; i < 20; i++) void sender.send({ type: MessageType.Wait, position: i, timers: null });
    const got: number[] = [];
    for await (const msg of reader) {
      if (msg.type === MessageType.Wait) got.push(msg.position);
      // 20 messages at 40 ms: reading takes far longer than the idle timeout.
      await sleep(40);
      if (got.length === 20) break;
    }
    expect(got).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(reader.closed).toBe(false);
  });

  it('bounds what the iterator queues in bytes by pausing the stream', async () => {
    const [a, b] = await socketPair();
    const sender = new FramedConnection(a, quiet);
    const reader = new FramedConnection(b, { ...quiet, readQueueBytes: 200 * 1024 });
    const data = Buffer.alloc(64 * 1024, 3);
    for (let i = 0; i < 40; i++) void sender.send({ type: MessageType.FileData, seq: 0, index: i, data });
    let sawPause = false;
    const indexes: number[] = [];
    for await (const msg of reader) {
      if (msg.type === MessageType.FileData) indexes.push(msg.index);
      sawPause ||= b.isPaused();
      await sleep(5);
      if (indexes.length === 40) break;
    }
    expect(sawPause).toBe(true);
    expect(indexes).toEqual(Array.from({ length: 40 }, (_, i) => i));
  });
});

describe('FramedConnection write batching', () => {
  it('hands the frames of one tick to the stream in one writev, in order', async () => {
    const [a, b] = await socketPair();
    const writes: number[] = [];
    const original = a._writev?.bind(a);
    // Observe how many frames each call of the socket's writev carries (the socket still does the writing).
    a._writev = (chunks, callback): void => {
      writes.push(chunks.length);
      original?.(chunks, callback);
    };
    const sender = new FramedConnection(a, quiet);
    const receiver = new FramedConnection(b, quiet);
    const seen: number[] = [];
    receiver.on('message', (msg) => {
      if (msg.type === MessageType.Credit) seen.push(msg.bytes);
    });
    for (let i = 0; i < 100; i++) void sender.send({ type: MessageType.Credit, bytes: i, ops: 0 });
    while (seen.length < 100) await sleep(5);
    expect(seen).toEqual([...Array(100).keys()]);
    expect(writes).toEqual([100]);
    sender.close();
    receiver.close();
  });
});
