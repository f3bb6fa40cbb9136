import { EntryType, ErrorCode, MessageType, PlanAction, PROTOCOL_VERSION, encodeMessage, type EntryMeta, type Message } from '@berth/wire';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { viewLocal, viewSnapshot } from './support/compare';
import { FlushGate } from './support/flush-gate';
import { RawClient } from './support/frames';
import { startReceiver, type ReceiverFixture } from './support/receiver-fixture';
import { runBackup } from './support/test-agent';
import { waitFor } from './support/wait-for';

const MiB = 1024 * 1024;
const CREDIT = 8 * MiB;
const DEFAULT_CREDIT_OPS = 4096;
const host = { hostId: randomUUID(), hostName: 'slow-disk', credential: 'secret' };
const gate = new FlushGate();

let fx: ReceiverFixture;
let source: string;

beforeAll(async () => {
  fx = await startReceiver({ heartbeatMs: 50, idleTimeoutMs: 1000, creditBytes: CREDIT }, { wrap: (repo) => gate.wrap(repo) });
  fx.verifier.addHost(host);
  source = await mkdtemp(join(tmpdir(), 'berth-flow-'));
  await mkdir(join(source, 'data'));
  await writeFile(join(source, 'data', 'large.bin'), randomBytes(24 * MiB));
});

afterAll(async () => {
  gate.open();
  await fx.stop();
  await rm(source, { recursive: true, force: true });
});

describe('flow control: the repository sets the pace', () => {
  it('stops a sender at its byte credit while flushes are held, keeps it alive, and resumes it when they complete', async () => {
    gate.close();
    const runId = randomUUID();
    fx.verifier.addRun({ runId, hostId: host.hostId, kind: 'backup' });
    const backup = runBackup({ port: fx.port, ...host, runId, root: source });
    // Generous: on a loaded machine the agent's first frames can take seconds to arrive.
    await waitFor(() => fx.receiver.metrics().bytesInFlight >= CREDIT - 256 * 1024, 'the sender to spend its credit', 20_000);
    // The last frames of the window may still be on their way: take the figure once it stops moving.
    let spent = -1;
    await waitFor(
      () => {
        const now = fx.receiver.metrics().bytesInFlight;
        const settled = now === spent;
        spent = now;
        return settled;
      },
      'the sender to stop at its credit',
      10_000,
      200,
    );
    // Longer than the idle timeout: heartbeats alone keep the throttled session open.
    await new Promise((resolve) => setTimeout(resolve, 2200));
    const metrics = fx.receiver.metrics();
    expect(metrics.bytesInFlight).toBe(spent);
    expect(metrics.bytesInFlight).toBeLessThanOrEqual(CREDIT);
    expect(metrics.creditBytesOutstanding).toBe(CREDIT - spent);
    expect(metrics.slotsBusy).toBe(1);

    gate.open();
    const result = await backup;
    expect(result.done).not.toBeNull();
    expect(result.dataBytes).toBe(24 * MiB);
    expect(await viewSnapshot(fx.repository, result.done!.rootTree)).toEqual(await viewLocal(source));
    expect(fx.receiver.metrics().commitLatencyMs.count).toBeGreaterThan(0);
  });

  it('ends the session of a peer that sends more data than its credit', async () => {
    gate.close();
    const runId = randomUUID();
    fx.verifier.addRun({ runId, hostId: host.hostId, kind: 'backup' });
    const client = await RawClient.connect(fx.port);
    client.write(encodeMessage({ type: MessageType.Hello, protocol: PROTOCOL_VERSION, role: 'backup', hostId: host.hostId, runId, credential: host.credential, agentVersion: 'greedy' }));
    const size = 20n * BigInt(MiB);
    const big = { name: Buffer.from('big'), type: EntryType.File, mode: 0o644, uid: 0, gid: 0, mtimeNs: 1n, ctimeNs: 1n, ino: 7n, dev: 1n, size, nlink: 1, linkTarget: null, rdev: 0n };
    client.write(encodeMessage({ type: MessageType.Chunk, seq: 1, dir: Buffer.from('/'), entries: [big], last: true }));
    const data = Buffer.alloc(MiB, 1);
    for (let i = 0; i < 9; i++) client.write(encodeMessage({ type: MessageType.FileData, seq: 1, index: 0, data }));
    await client.closed;
    const errors = client.messages.filter((m) => m.type === MessageType.Error);
    expect(errors).toEqual([expect.objectContaining({ code: ErrorCode.Protocol, message: expect.stringContaining('credit') as unknown })]);
    gate.open();
  });
});

function link(name: string): EntryMeta {
  return { name: Buffer.from(name), type: EntryType.Symlink, mode: 0o777, uid: 0, gid: 0, mtimeNs: 1n, ctimeNs: 1n, ino: 9n, dev: 1n, size: 6n, nlink: 1, linkTarget: Buffer.from('target'), rdev: 0n };
}

function file(name: string, size: number): EntryMeta {
  return { name: Buffer.from(name), type: EntryType.File, mode: 0o644, uid: 0, gid: 0, mtimeNs: 1n, ctimeNs: 1n, ino: 7n, dev: 1n, size: BigInt(size), nlink: 1, linkTarget: null, rdev: 0n };
}

function ofType<T extends Message['type']>(client: RawClient, type: T): Array<Extract<Message, { type: T }>> {
  return client.messages.filter((m): m is Extract<Message, { type: T }> => m.type === type);
}

/**
 * Opens a raw backup session and sends `chunks` (after Hello) without waiting for anything; heartbeats keep it open
 * however long the test takes (a loaded machine) until the socket closes.
 */
async function rawSession(fixture: ReceiverFixture, chunks: ReadonlyArray<{ seq: number; entries: EntryMeta[]; last: boolean }>): Promise<{ client: RawClient; runId: string }> {
  const runId = randomUUID();
  fixture.verifier.addRun({ runId, hostId: host.hostId, kind: 'backup' });
  const client = await RawClient.connect(fixture.port);
  client.write(encodeMessage({ type: MessageType.Hello, protocol: PROTOCOL_VERSION, role: 'backup', hostId: host.hostId, runId, credential: host.credential, agentVersion: 'raw' }));
  for (const chunk of chunks) client.write(encodeMessage({ type: MessageType.Chunk, seq: chunk.seq, dir: Buffer.from('/'), entries: chunk.entries, last: chunk.last }));
  const heartbeat = setInterval(() => client.write(encodeMessage({ type: MessageType.Heartbeat })), 100);
  void client.closed.then(() => clearInterval(heartbeat));
  return { client, runId };
}

function sendFile(client: RawClient, seq: number, index: number, data: Buffer): void {
  client.write(encodeMessage({ type: MessageType.FileData, seq, index, data }));
  client.write(encodeMessage({ type: MessageType.FileEnd, seq, index, size: BigInt(data.length), sha256: createHash('sha256').update(data).digest(), error: null }));
}

describe('entry credit: file operations, not entries', () => {
  it('gives back the credit of entries needing no content as it plans them, and that of a file once it is durable', async () => {
    gate.close();
    const { client } = await rawSession(fx, [{ seq: 0, entries: [file('a', 10), link('l1'), link('l2'), link('l3')], last: true }]);
    await waitFor(() => ofType(client, MessageType.Credit).length > 0, 'the credit of the links');
    expect(ofType(client, MessageType.ChunkPlan)).toEqual([{ type: MessageType.ChunkPlan, seq: 0, actions: [PlanAction.Whole, PlanAction.Skip, PlanAction.Skip, PlanAction.Skip] }]);
    expect(ofType(client, MessageType.Credit)).toEqual([{ type: MessageType.Credit, bytes: 0, ops: 3 }]);

    // The file's content arrives; while flushes are held its entry credit (and bytes) stay spent.
    sendFile(client, 0, 0, Buffer.alloc(10, 7));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(ofType(client, MessageType.Committed)).toEqual([]);
    expect(ofType(client, MessageType.Credit)).toHaveLength(1);
    expect(fx.receiver.metrics().creditOpsOutstanding).toBe(DEFAULT_CREDIT_OPS - 1);

    gate.open();
    await waitFor(() => ofType(client, MessageType.Committed).length === 1 && ofType(client, MessageType.Credit).length === 2, 'the commit and its credit');
    expect(ofType(client, MessageType.Credit)[1]).toEqual({ type: MessageType.Credit, bytes: 10, ops: 1 });
    client.write(encodeMessage({ type: MessageType.Finish }));
    await waitFor(() => ofType(client, MessageType.Done).length === 1, 'Done');
    client.socket.destroy();
  });

  it('keeps that credit until the commit once too many entries wait behind a file still arriving', async () => {
    // 16 entry credits, chunks of 8: the early credit stops past 8 x 16 = 128 unsettled entries.
    const small = await startReceiver({ heartbeatMs: 50, idleTimeoutMs: 1000, creditOps: 16, chunkMaxEntries: 8 });
    try {
      small.verifier.addHost(host);
      const names = (chunk: number): EntryMeta[] => Array.from({ length: 8 }, (_, i) => link(`l${String(chunk).padStart(2, '0')}-${i}`));
      const first = { seq: 0, entries: [file('a', 10), ...names(0).slice(1)], last: false };
      const rest = Array.from({ length: 16 }, (_, i) => ({ seq: i + 1, entries: names(i + 1), last: i === 15 }));
      const { client } = await rawSession(small, [first, ...rest]);
      await waitFor(() => ofType(client, MessageType.ChunkPlan).length === 17, 'the plans of all 17 chunks');
      await new Promise((resolve) => setTimeout(resolve, 200));
      // Chunk 0 gives back its 7 links; chunks 1-15 their 8 each (8 + 15 x 8 = 128 unsettled); chunk 16 (136) nothing.
      expect(ofType(client, MessageType.Credit).map((c) => c.ops)).toEqual([7, ...Array<number>(15).fill(8)]);
      expect(small.receiver.metrics().creditOpsOutstanding).toBe(16 - 8 - 8 * 16 + 7 + 8 * 15);
      expect(ofType(client, MessageType.Error)).toEqual([]);

      // The file arrives: every chunk commits, and the credit kept comes back with it (the file's op, chunk 16's 8).
      sendFile(client, 0, 0, Buffer.alloc(10, 3));
      await waitFor(() => ofType(client, MessageType.Committed).length === 17, 'all 17 commits');
      await waitFor(() => small.receiver.metrics().creditOpsOutstanding === 16, 'all entry credit back');
      expect(ofType(client, MessageType.Credit).slice(16).reduce((sum, c) => sum + c.ops, 0)).toBe(9);
      client.write(encodeMessage({ type: MessageType.Finish }));
      await waitFor(() => ofType(client, MessageType.Done).length === 1, 'Done');
      client.socket.destroy();
    } finally {
      await small.stop();
    }
  });
});
