import { ErrorCode } from '@berth/wire';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startReceiver, type ReceiverFixture } from './support/receiver-fixture';
import { makeSampleTree } from './support/sample-tree';
import { runBackup, type BackupOptions } from './support/test-agent';
import { waitFor } from './support/wait-for';

const host = { hostId: randomUUID(), hostName: 'queue', credential: 'secret' };

let fx: ReceiverFixture;
let source: string;
let maxBusy = 0;
let sampler: NodeJS.Timeout;

beforeAll(async () => {
  // The idle timeout leaves room for a loaded machine (an event loop stalled for a few hundred ms) while staying well
  // under how long the first session holds the slot below.
  fx = await startReceiver({ maxSessions: 1, heartbeatMs: 50, idleTimeoutMs: 1000 });
  fx.verifier.addHost(host);
  source = await mkdtemp(join(tmpdir(), 'berth-admission-'));
  await makeSampleTree(source);
  sampler = setInterval(() => (maxBusy = Math.max(maxBusy, fx.receiver.metrics().slotsBusy)), 5);
});

afterAll(async () => {
  clearInterval(sampler);
  await fx.stop();
  await rm(source, { recursive: true, force: true });
});

function backup(extra: Partial<BackupOptions> = {}): ReturnType<typeof runBackup> {
  const runId = randomUUID();
  fx.verifier.addRun({ runId, hostId: host.hostId, kind: 'backup' });
  return runBackup({ port: fx.port, ...host, runId, root: source, ...extra });
}

describe('admission with maxSessions = 1', () => {
  it('queues later sessions in FIFO order, tells them their position, and keeps them alive while they wait', async () => {
    let second: ReturnType<typeof runBackup> | null = null;
    let third: ReturnType<typeof runBackup> | null = null;
    const first = backup({
      afterWelcome: async () => {
        second = backup();
        await waitFor(() => fx.receiver.metrics().sessionsWaiting === 1, 'the second session to wait');
        third = backup();
        await waitFor(() => fx.receiver.metrics().sessionsWaiting === 2, 'the third session to wait');
        // Hold the slot for longer than the idle timeout: waiting sessions live on heartbeats.
        await new Promise((resolve) => setTimeout(resolve, 2200));
      },
    });
    const results = [await first, await second!, await third!];
    expect(results.map((r) => r.waits)).toEqual([[], [1], [2, 1]]);
    expect(results.every((r) => r.done !== null)).toBe(true);
    expect(maxBusy).toBe(1);
  });

  it('lets a reconnecting agent supersede the older, still open session of the same run', async () => {
    const runId = randomUUID();
    fx.verifier.addRun({ runId, hostId: host.hostId, kind: 'backup' });
    let newer: ReturnType<typeof runBackup> | null = null;
    const older = runBackup({
      port: fx.port,
      ...host,
      runId,
      root: source,
      afterWelcome: async (conn) => {
        newer = runBackup({ port: fx.port, ...host, runId, root: source });
        await conn.whenClosed();
      },
    });
    const [a, b] = [await older, await newer!];
    expect(a.closeReason).toMatchObject({ code: ErrorCode.Protocol, message: expect.stringContaining('superseded') as unknown, remote: true });
    expect(b.done).not.toBeNull();
    expect(b.waits).toEqual([]);
  });

  it('ends waiting and running sessions with shutting_down when the receiver stops', async () => {
    let waiting: ReturnType<typeof runBackup> | null = null;
    const running = backup({
      afterWelcome: async () => {
        waiting = backup();
        await waitFor(() => fx.receiver.metrics().sessionsWaiting === 1, 'a waiting session');
        await fx.receiver.close();
      },
    });
    const [a, b] = [await running, await waiting!];
    expect(a.closeReason).toMatchObject({ code: ErrorCode.ShuttingDown, remote: true });
    expect(b.closeReason).toMatchObject({ code: ErrorCode.ShuttingDown, remote: true });
    expect(b.waits).toEqual([1]);
    expect(b.welcome).toBeNull();
  });
});
