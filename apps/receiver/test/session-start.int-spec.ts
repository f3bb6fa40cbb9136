import { type VerifySessionRequest, type VerifySessionResponse } from '@berth/contracts';
import { type RepositoryApi, type SnapshotRecord } from '@berth/repository';
import { ErrorCode } from '@berth/wire';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startReceiver, type ReceiverFixture } from './support/receiver-fixture';
import { makeSampleTree } from './support/sample-tree';
import { runBackup } from './support/test-agent';
import { waitFor } from './support/wait-for';

// A session's start: the host's history (latest snapshot, digest index) is read while the controller verifies the
// session, and nothing of it reaches a peer the controller refuses.
const host = { hostId: randomUUID(), hostName: 'start', credential: 'cred-s' };

let fx: ReceiverFixture;
let source: string;
/** Hosts whose latest snapshot the receiver read, in order, and whether the verifications held had been answered then. */
const historyReads: Array<{ hostId: string; answered: boolean }> = [];
let answered = true;
let holdVerification: Promise<void> = Promise.resolve();

beforeAll(async () => {
  const wrap = (repository: RepositoryApi): RepositoryApi =>
    new Proxy(repository, {
      get(target, property, receiver) {
        if (property === 'latestSnapshot') {
          return (hostId: string): Promise<SnapshotRecord | null> => {
            historyReads.push({ hostId, answered });
            return target.latestSnapshot(hostId);
          };
        }
        const value: unknown = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
  fx = await startReceiver({ heartbeatMs: 100, idleTimeoutMs: 5000 }, { wrap });
  fx.verifier.addHost(host);
  const verify = fx.verifier.verify.bind(fx.verifier);
  fx.verifier.verify = async (request: VerifySessionRequest): Promise<VerifySessionResponse> => {
    await holdVerification;
    return verify(request);
  };
  source = await mkdtemp(join(tmpdir(), 'berth-session-start-'));
  await makeSampleTree(source);
});

afterAll(async () => {
  await fx.stop();
  await rm(source, { recursive: true, force: true });
});

function backup(credential = host.credential): ReturnType<typeof runBackup> {
  const runId = randomUUID();
  fx.verifier.addRun({ runId, hostId: host.hostId, kind: 'backup' });
  return runBackup({ port: fx.port, hostId: host.hostId, runId, credential, root: source, chunkEntries: 16, digests: true, packed: true });
}

describe('session start', () => {
  it("reads the host's history while the controller verifies the session", async () => {
    const first = await backup();
    expect(first.done).not.toBeNull();
    historyReads.length = 0;
    let release = (): void => undefined;
    holdVerification = new Promise((resolve) => (release = resolve));
    answered = false;
    const second = backup();
    try {
      // The verification is held: the history is read meanwhile.
      for (let i = 0; i < 200 && historyReads.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 5));
      expect(historyReads).toEqual([{ hostId: host.hostId, answered: false }]);
    } finally {
      answered = true;
      release();
    }
    const result = await second;
    expect(result.done).not.toBeNull();
    expect(result.welcome?.previousSnapshot).toBe(true);
    // Read once: the session used what was read during the verification.
    expect(historyReads).toHaveLength(1);
  });

  it('reads again, once admitted, for a session that waited for a slot: it learns of the snapshot published meanwhile', async () => {
    const queued = await startReceiver({ maxSessions: 1, heartbeatMs: 50, idleTimeoutMs: 5000 });
    const fresh = { hostId: randomUUID(), hostName: 'queued', credential: 'cred-q' };
    queued.verifier.addHost(fresh);
    const start = (afterWelcome?: () => Promise<void>): ReturnType<typeof runBackup> => {
      const runId = randomUUID();
      queued.verifier.addRun({ runId, hostId: fresh.hostId, kind: 'backup' });
      return runBackup({ port: queued.port, ...fresh, runId, root: source, chunkEntries: 16, digests: true, packed: true, ...(afterWelcome ? { afterWelcome } : {}) });
    };
    try {
      let second: ReturnType<typeof runBackup> | null = null;
      const first = await start(async () => {
        // The host has no snapshot yet: a read made now would tell the second session so.
        second = start();
        await waitFor(() => queued.receiver.metrics().sessionsWaiting === 1, 'the second session to wait');
      });
      expect(first.welcome?.previousSnapshot).toBe(false);
      const result = await (second as unknown as ReturnType<typeof runBackup>);
      expect(result.waits).toEqual([1]);
      expect(result.welcome?.previousSnapshot).toBe(true);
      expect(result.done).not.toBeNull();
    } finally {
      await queued.stop();
    }
  });

  it('tells a peer the controller refuses nothing of the history read meanwhile', async () => {
    holdVerification = Promise.resolve();
    const refused = await backup('not-the-credential');
    expect(refused.welcome).toBeNull();
    expect(refused.closeReason?.code).toBe(ErrorCode.Unauthorized);
    expect(refused.done).toBeNull();
  });
});
