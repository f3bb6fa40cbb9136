import { type JournalRecord, type RepositoryApi } from '@berth/repository';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startReceiver, type ReceiverFixture } from './support/receiver-fixture';
import { makeSampleTree } from './support/sample-tree';
import { runBackup } from './support/test-agent';
import { waitFor } from './support/wait-for';

/** An injected fault: journal appends wait while the gate is shut, like a slow fdatasync, and may then fail. */
class JournalGate {
  shut = false;
  held = 0;
  private waiters: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];

  open(): void {
    this.shut = false;
    for (const waiter of this.waiters.splice(0)) waiter.resolve();
  }

  /** The held appends fail (a write error surfacing at fdatasync). */
  failHeld(error: Error): void {
    this.shut = false;
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
  }

  wrap(repository: RepositoryApi): RepositoryApi {
    const appendJournal = async (runId: string, records: readonly JournalRecord[]): Promise<void> => {
      if (this.shut) {
        this.held += 1;
        await new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
      }
      await repository.appendJournal(runId, records);
    };
    return new Proxy(repository, {
      get(target, property, receiver) {
        if (property === 'appendJournal') return appendJournal;
        const value = Reflect.get(target, property, receiver) as unknown;
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
  }
}

const host = { hostId: randomUUID(), hostName: 'finish', credential: 'cred-f' };
const gate = new JournalGate();
let fx: ReceiverFixture;
let source: string;

beforeAll(async () => {
  fx = await startReceiver({ heartbeatMs: 100, idleTimeoutMs: 5000 }, { wrap: (repository) => gate.wrap(repository) });
  fx.verifier.addHost(host);
  source = await mkdtemp(join(tmpdir(), 'berth-finish-'));
  await makeSampleTree(source);
});

afterAll(async () => {
  gate.open();
  await fx.stop();
  await rm(source, { recursive: true, force: true });
});

function backup(): { runId: string; result: ReturnType<typeof runBackup> } {
  const runId = randomUUID();
  fx.verifier.addRun({ runId, hostId: host.hostId, kind: 'backup' });
  return { runId, result: runBackup({ port: fx.port, ...host, runId, root: source, digests: true, packed: true, topDown: true, finishUncommitted: true }) };
}

describe('the end of a backup session', () => {
  it('publishes the snapshot while the last journal records are made durable, and sends Done once both are', async () => {
    const first = await backup().result;
    expect(first.done).not.toBeNull();
    // The unchanged tree is one reused "/": its journal record is held; Finish follows it at once.
    gate.shut = true;
    const { runId, result } = backup();
    let settled = false;
    void result.then(() => (settled = true));
    await waitFor(() => gate.held === 1, 'the journal append of "/" to be held');
    const published = async (): Promise<number> => (await fx.repository.listSnapshots(host.hostId)).length;
    const deadline = Date.now() + 5000;
    while ((await published()) < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(await published()).toBe(2);
    // Done waits for the held record (and its acknowledgement).
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(settled).toBe(false);
    gate.open();
    const second = await result;
    expect(second.closeReason).toBeNull();
    expect(second.done?.rootTree).toBe(first.done?.rootTree);
    expect(second.committed.map((c) => c.dir.toString())).toEqual(['/']);
    // The journal of the published run is removed once Done is sent, before the session ends.
    await fx.sessionEnded(runId);
    expect(await fx.repository.readJournal(runId)).toEqual([]);
  });

  it('still sends Done when the last journal records fail after the snapshot is published, and reports the failure', async () => {
    const before = (await fx.repository.listSnapshots(host.hostId)).length;
    gate.held = 0;
    gate.shut = true;
    const { runId, result } = backup();
    // The journal record of "/" is held while the snapshot is published; then its append fails.
    await waitFor(() => gate.held === 1, 'the journal append of "/" to be held');
    const deadline = Date.now() + 5000;
    while ((await fx.repository.listSnapshots(host.hostId)).length === before && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    gate.failHeld(new Error('EIO: injected journal write failure'));
    const outcome = await result;
    // One snapshot more, named by Done: a failed session would make the run's retry publish a second one.
    expect(outcome.closeReason).toBeNull();
    const snapshots = await fx.repository.listSnapshots(host.hostId);
    expect(snapshots).toHaveLength(before + 1);
    expect(snapshots.map((snapshot) => snapshot.id)).toContain(outcome.done?.snapshotId);
    await fx.sessionEnded(runId);
    expect(fx.logs.filter((line) => line.includes(`run=${runId}: snapshot ${outcome.done?.snapshotId} published, but the last journal records`))).toHaveLength(1);
    expect(fx.logs.some((line) => line.includes('EIO: injected journal write failure'))).toBe(true);
    // The receiver is none the worse: the next run of the host succeeds.
    const next = await backup().result;
    expect(next.closeReason).toBeNull();
    expect(next.done?.rootTree).toBe(outcome.done?.rootTree);
  });
});
