import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startReceiver, type ReceiverFixture } from './support/receiver-fixture';
import { runBackup, type BackupOptions } from './support/test-agent';

const MiB = 1024 * 1024;

// A session dies in the middle of a large file; the next session of the same run offers the file again and is told
// which leading chunks the repository holds (v3), and how far the dead session got (Welcome.sentThrough).
describe('resuming a large file after its stored part', () => {
  let fx: ReceiverFixture;
  let source: string;
  let content: Buffer;
  let host: { hostId: string; hostName: string; credential: string };

  beforeAll(async () => {
    fx = await startReceiver({ heartbeatMs: 200, idleTimeoutMs: 10_000 });
  });

  // A fresh host (no previous snapshot: no delta) and fresh random content (nothing to deduplicate) per test.
  beforeEach(async () => {
    host = { hostId: randomUUID(), hostName: `resume-${randomUUID().slice(0, 8)}`, credential: `cred-${randomUUID()}` };
    fx.verifier.addHost(host);
    source = await mkdtemp(join(tmpdir(), 'berth-large-resume-'));
    content = randomBytes(9 * MiB + 777);
    await writeFile(join(source, 'big.bin'), content);
    await writeFile(join(source, 'small.txt'), 'small\n');
  });

  afterEach(async () => {
    await rm(source, { recursive: true, force: true });
  });

  afterAll(async () => {
    await fx.stop();
  });

  /** The run's sent mark, once the receiver has written it (it does as the dead session ends). */
  async function sentMark(runId: string): Promise<NonNullable<Awaited<ReturnType<ReceiverFixture['repository']['readSentMark']>>>> {
    const deadline = Date.now() + 5000;
    for (;;) {
      const mark = await fx.repository.readSentMark(runId);
      if (mark !== null) return mark;
      if (Date.now() > deadline) throw new Error(`no sent mark for run ${runId}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  function newRun(): string {
    const runId = randomUUID();
    fx.verifier.addRun({ runId, hostId: host.hostId, kind: 'backup' });
    return runId;
  }

  function backup(runId: string, extra: Partial<BackupOptions> = {}): ReturnType<typeof runBackup> {
    return runBackup({ port: fx.port, hostId: host.hostId, runId, credential: host.credential, root: source, dataFrameBytes: 256 * 1024, offerMinBytes: MiB + 1, ...extra });
  }

  it('tells a v3 agent the held leading chunks and where the last session got; only the rest is sent', async () => {
    const runId = newRun();
    const first = await backup(runId, { stopAfterDataBytes: 6 * MiB + 100 });
    expect(first.done).toBeNull();
    expect(first.heldChunks).toEqual([0]);
    // The receiver records how far the dead session got as it ends it.
    const mark = await sentMark(runId);
    expect({ dir: mark.dir.toString(), name: mark.name.toString() }).toEqual({ dir: '/', name: 'big.bin' });
    expect(Number(mark.offset)).toBe(first.dataBytes);

    const second = await backup(runId);
    expect(second.closeReason).toBeNull();
    expect(second.done).not.toBeNull();
    expect(second.welcome?.sentThrough).toEqual(mark);
    // Every whole chunk that reached the repository is held: at most the last, partly received one is sent again.
    const held = second.heldChunks[0] ?? 0;
    expect(held).toBeGreaterThanOrEqual(5);
    expect(held).toBeLessThanOrEqual(6);
    expect(second.dataBytes).toBe(content.length - held * MiB + 'small\n'.length);
    const entry = await fx.repository.resolvePath(Buffer.from(second.done?.rootTree ?? '', 'hex'), Buffer.from('/big.bin'));
    const pieces: Buffer[] = [];
    for await (const piece of fx.repository.readFileContent(entry?.content ?? { sha256: Buffer.alloc(32), chunks: [] })) pieces.push(piece);
    expect(Buffer.concat(pieces).equals(content)).toBe(true);
    // A published run leaves neither journal nor mark behind (removed after Done, before the session ends).
    await fx.sessionEnded(runId);
    expect(await fx.repository.readSentMark(runId)).toBeNull();
    expect(await fx.repository.readJournal(runId)).toEqual([]);
  });

  it('resumes a protocol 6 agent after its held chunks too, read back into the SHA-256 of the bytes that names its file', async () => {
    const runId = newRun();
    const first = await backup(runId, { protocol: 6, stopAfterDataBytes: 6 * MiB + 100 });
    expect(first.done).toBeNull();
    await sentMark(runId);
    const second = await backup(runId, { protocol: 6 });
    expect(second.closeReason).toBeNull();
    const held = second.heldChunks[0] ?? 0;
    expect(held).toBeGreaterThanOrEqual(5);
    expect(second.dataBytes).toBe(content.length - held * MiB + 'small\n'.length);
    const entry = await fx.repository.resolvePath(Buffer.from(second.done?.rootTree ?? '', 'hex'), Buffer.from('/big.bin'));
    expect(entry?.content?.sha256).toEqual(createHash('sha256').update(content).digest());
    expect((await fx.repository.verifySnapshot(second.done?.snapshotId ?? '')).problems).toEqual([]);
  });

  it('keeps a v2 agent on the v2 protocol: no held chunks, no sentThrough, the whole file is sent', async () => {
    const runId = newRun();
    const first = await backup(runId, { protocol: 2, stopAfterDataBytes: 3 * MiB });
    expect(first.done).toBeNull();
    await sentMark(runId);
    const second = await backup(runId, { protocol: 2 });
    expect(second.done).not.toBeNull();
    expect(second.welcome?.sentThrough).toBeNull();
    expect(second.heldChunks).toEqual([0]);
    expect(second.dataBytes).toBe(content.length + 'small\n'.length);
  });
});
