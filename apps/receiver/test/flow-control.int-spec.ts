import { EntryType, ErrorCode, MessageType, PROTOCOL_VERSION, encodeMessage } from '@berth/wire';
import { randomBytes, randomUUID } from 'node:crypto';
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
