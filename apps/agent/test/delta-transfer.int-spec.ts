import { JobName, type BackupJobData } from '@berth/contracts';
import { ContentHasher } from '@berth/delta';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBackup } from '../src/backup/backup.service';
import { SentLedger } from '../src/backup/resend-tracker';
import { HttpControllerClient } from '../src/controller/controller-client';
import { standaloneJob, type RunJob } from '../src/jobs/run-job';
import { silentLogger } from '../src/util/logger';
import { RecordingController } from './recording-controller';
import { contentChunkIds, ScriptedReceiver } from './scripted-receiver';

jest.setTimeout(30_000);

const MiB = 1024 * 1024;

describe('delta transfer and content offers against a scripted receiver', () => {
  let base: string;
  let src: string;
  let controller: RecordingController;
  let receiver: ScriptedReceiver;
  let runCounter = 0;

  beforeEach(async () => {
    base = mkdtempSync(join(tmpdir(), 'berth-delta-agent-'));
    src = join(base, 'src');
    await mkdir(src);
    controller = await new RecordingController().start();
    receiver = await new ScriptedReceiver().start();
  });
  afterEach(async () => {
    await receiver.stop();
    await controller.stop();
    await rm(base, { recursive: true, force: true });
  });

  const backup = (runId = `run-${++runCounter}`, sentLedger?: SentLedger): ReturnType<typeof runBackup> => {
    const job: RunJob<BackupJobData> = standaloneJob({ kind: JobName.Backup, runId, hostId: controller.hostId, paths: [src], excludes: [] });
    return runBackup(job, {
      ...(sentLedger === undefined ? {} : { sentLedger }),
      controller: new HttpControllerClient(controller.url, controller.credential),
      connector: receiver,
      hostId: controller.hostId,
      credential: controller.credential,
      log: silentLogger,
      progressIntervalMs: 50,
    });
  };

  /** An 8 MiB previous version and the current file: 200 KiB rewritten in the middle. */
  async function changedFile(): Promise<{ path: string; previous: Buffer; current: Buffer }> {
    const previous = randomBytes(8 * MiB);
    const current = Buffer.from(previous);
    randomBytes(200 * 1024).copy(current, 4 * MiB + 77);
    const path = join(src, 'disk.img');
    await writeFile(path, current);
    return { path, previous, current };
  }

  it('sends a changed file as a delta within a byte credit smaller than the delta, and the receiver rebuilds it', async () => {
    const { path, previous, current } = await changedFile();
    receiver.script = { deltaBases: new Map([[path, previous]]), creditBytes: 64 * 1024 };
    const result = await backup();
    expect(receiver.violations).toEqual([]);
    expect(result.status).toBe('succeeded');
    expect(receiver.files.get(path)?.content.equals(current)).toBe(true);
    expect(receiver.rebuildFailures).toEqual([]);
    const sent = receiver.dataBytes.get(path) ?? 0;
    expect(sent).toBeGreaterThan(200 * 1024);
    expect(sent).toBeLessThan(300 * 1024);
    expect(result.counters.bytesSent).toBe(sent);
  });

  it('sends the file again whole when the receiver asks with Resend, then finishes', async () => {
    const { path, previous, current } = await changedFile();
    await writeFile(join(src, 'z-after'), 'after');
    receiver.script = { deltaBases: new Map([[path, previous]]), resendDeltas: true };
    const result = await backup();
    expect(receiver.violations).toEqual([]);
    expect(receiver.resent).toEqual([path]);
    expect(receiver.files.get(path)?.content.equals(current)).toBe(true);
    expect(receiver.files.get(join(src, 'z-after'))?.content.toString()).toBe('after');
    expect(result.status).toBe('succeeded');
  });

  it('copies the chunks whose id it is told are unchanged without comparing them (protocol 8), and trusts those ids', async () => {
    const { path, previous, current } = await changedFile();
    // Ids that call the edited chunk 4 unchanged: a delta that uses them copies the old chunk 4 and does not rebuild
    // the file, so the receiver asks for it whole. (With the true ids the first test's delta rebuilds it.)
    receiver.script = { deltaBases: new Map([[path, previous]]), basisChunkIds: new Map([[path, contentChunkIds(current)]]) };
    const result = await backup();
    expect(receiver.violations).toEqual([]);
    expect(receiver.rebuildFailures).toEqual([path]);
    expect(receiver.files.get(path)?.content.equals(current)).toBe(true);
    expect(result.status).toBe('succeeded');
  });

  it('offers a large file by its hashes and sends nothing when the receiver has it; sends it when not', async () => {
    const known = randomBytes(3 * MiB + 5);
    const unknown = randomBytes(2 * MiB);
    await writeFile(join(src, 'known.bin'), known);
    await writeFile(join(src, 'unknown.bin'), unknown);
    await writeFile(join(src, 'small'), 'small');
    receiver.script = { knownContent: new Set([new ContentHasher().update(known).digest().toString('hex')]) };
    const result = await backup();
    expect(receiver.violations).toEqual([]);
    expect(receiver.offers).toEqual([
      { path: join(src, 'known.bin'), known: true, heldChunks: 0 },
      { path: join(src, 'unknown.bin'), known: false, heldChunks: 0 },
    ]);
    expect(receiver.dataBytes.get(join(src, 'known.bin'))).toBeUndefined();
    expect(receiver.files.get(join(src, 'unknown.bin'))?.content.equals(unknown)).toBe(true);
    expect(result.counters.bytesSent).toBe(unknown.length + 5);
    expect(result.counters.filesDone).toBe(3);
  });

  it('offers a large file by its first chunk and sends it at once when the receiver lacks that chunk; offers the next file ahead', async () => {
    const first = randomBytes(5 * MiB + 7);
    const second = randomBytes(4 * MiB + 1);
    await mkdir(join(src, 'a'));
    await mkdir(join(src, 'b'));
    await writeFile(join(src, 'a', 'first.bin'), first);
    await writeFile(join(src, 'b', 'second.bin'), second);
    // A slow commit: the second file (another chunk) must not wait for the first one's commit to start. The lag
    // is wide enough that hashing and sending 4 MiB fits inside it on a loaded machine (300 ms did not, in a
    // full parallel test run on a slow 2-core machine).
    receiver.script = { commitLagMs: 1500, creditBytes: 64 * MiB };
    const result = await backup();
    expect(receiver.violations).toEqual([]);
    expect(result.status).toBe('succeeded');
    expect(receiver.offers).toEqual([]);
    const sha = (data: Buffer): string => createHash('sha256').update(data).digest('hex');
    // Both offered by their first chunk, in send order (the second is hashed ahead, and its hash may finish first).
    expect(receiver.firstChunkOffers.map(({ path, chunk, held }) => ({ path, chunk, held }))).toEqual([
      { path: join(src, 'a', 'first.bin'), chunk: sha(first.subarray(0, MiB)), held: false },
      { path: join(src, 'b', 'second.bin'), chunk: sha(second.subarray(0, MiB)), held: false },
    ]);
    expect(receiver.files.get(join(src, 'a', 'first.bin'))?.content.equals(first)).toBe(true);
    expect(receiver.files.get(join(src, 'b', 'second.bin'))?.content.equals(second)).toBe(true);
    expect(result.counters.bytesSent).toBe(first.length + second.length);
    // The second file went out while the first one's chunk was still being committed (commits lag 1.5 s here).
    expect(receiver.maxUncommittedBytes).toBe(first.length + second.length);
  });

  it('offers a copy of an earlier large file of the run only in its turn, in full, so it is not sent twice', async () => {
    const content = randomBytes(2 * MiB + 3);
    await writeFile(join(src, 'copy-1.bin'), content);
    await writeFile(join(src, 'copy-2.bin'), content);
    receiver.script = { knownContent: new Set([new ContentHasher().update(content).digest().toString('hex')]) };
    const result = await backup();
    expect(receiver.violations).toEqual([]);
    // Same first chunk: the second offer waited for its turn, whichever hash finished first, and neither went
    // out while the other file's content was streaming.
    expect(receiver.firstChunkOffers.map(({ path, during }) => ({ path, during }))).toEqual([
      { path: join(src, 'copy-1.bin'), during: null },
      { path: join(src, 'copy-2.bin'), during: null },
    ]);
    expect(receiver.offers.map(({ path, known }) => ({ path, known }))).toEqual([
      { path: join(src, 'copy-1.bin'), known: true },
      { path: join(src, 'copy-2.bin'), known: true },
    ]);
    expect(result.counters.bytesSent).toBe(0);
  });

  it('resumes a large file after the leading chunks the receiver holds: sends only the rest, FileEnd covers the whole file', async () => {
    const big = randomBytes(5 * MiB + 123);
    const path = join(src, 'big.bin');
    await writeFile(path, big);
    receiver.script = { heldPrefixes: new Map([[path, big.subarray(0, 3 * MiB)]]) };
    const result = await backup();
    expect(receiver.violations).toEqual([]);
    expect(receiver.offers).toEqual([{ path, known: false, heldChunks: 3 }]);
    expect(receiver.dataBytes.get(path)).toBe(2 * MiB + 123);
    expect(receiver.files.get(path)?.content.equals(big)).toBe(true);
    expect(result.counters.bytesSent).toBe(2 * MiB + 123);
    expect(result.status).toBe('succeeded');
  });

  it('counts what it sends again up to where Welcome says earlier attempts got, and reports it', async () => {
    await writeFile(join(src, 'a'), randomBytes(1000));
    await writeFile(join(src, 'b'), randomBytes(2000));
    const big = randomBytes(5 * MiB);
    await writeFile(join(src, 'c.bin'), big);
    await writeFile(join(src, 'd'), randomBytes(4000));
    // An earlier attempt got 4 MiB into c.bin; the receiver holds its first 3 MiB.
    receiver.script = {
      heldPrefixes: new Map([[join(src, 'c.bin'), big.subarray(0, 3 * MiB)]]),
      sentThrough: { dir: Buffer.from(src), name: Buffer.from('c.bin'), offset: BigInt(4 * MiB) },
    };
    const runId = `run-${++runCounter}`;
    const result = await backup(runId);
    expect(receiver.violations).toEqual([]);
    expect(result.counters.bytesSent).toBe(1000 + 2000 + 2 * MiB + 4000);
    const finish = controller.finishes(runId);
    expect(finish.map((f) => f.bytesResent)).toEqual([1000 + 2000 + MiB]);
  });

  it('remembers how far a failed attempt got and counts it in the next attempt of the run', async () => {
    const big = randomBytes(6 * MiB);
    const path = join(src, 'big.bin');
    await writeFile(path, big);
    await writeFile(join(src, 'z'), 'after');
    const ledger = new SentLedger();
    const runId = `run-${++runCounter}`;
    // First attempt: the connection drops once 4 MiB of the file have arrived; the second finds 2 MiB of it stored.
    let session = 0;
    receiver.scriptForSession = (n) => {
      session = n;
      return n === 1 ? { creditBytes: 4 * MiB } : { heldPrefixes: new Map([[path, big.subarray(0, 2 * MiB)]]) };
    };
    receiver.onDataBytes = (bytes) => (session === 1 && bytes >= 4 * MiB ? 'drop' : 'go');
    await expect(backup(runId, ledger)).rejects.toThrow();
    expect(ledger.get(runId)?.name.toString()).toBe('big.bin');
    const reached = Number(ledger.get(runId)?.offset ?? 0n);
    expect(reached).toBeGreaterThanOrEqual(4 * MiB);
    const second = await backup(runId, ledger);
    expect(second.status).toBe('succeeded');
    expect(receiver.files.get(path)?.content.equals(big)).toBe(true);
    expect(second.counters.bytesSent).toBe(4 * MiB + 5);
    const finishes = controller.finishes(runId);
    expect(finishes.map((f) => f.status)).toEqual(['failed', 'succeeded']);
    expect(finishes[0]?.bytesResent).toBe(0);
    expect(finishes[1]?.bytesResent).toBe(reached - 2 * MiB);
    expect(ledger.get(runId)).toBeNull();
  });

  it('refuses an OfferReply that claims to hold every chunk but not the file (a protocol error ends the session)', async () => {
    const big = randomBytes(2 * MiB);
    const path = join(src, 'two.bin');
    await writeFile(path, big);
    receiver.script = { heldPrefixes: new Map([[path, big]]) };
    await expect(backup()).rejects.toThrow(/holds 2 of 2 chunks but not the file/);
  });

  it('reports a file whose held start changed after it was offered as a file error (the run ends partial)', async () => {
    const big = randomBytes(3 * MiB + 10);
    const path = join(src, 'moving.bin');
    await writeFile(path, big);
    await writeFile(join(src, 'z-after'), 'after');
    receiver.script = {
      heldPrefixes: new Map([[path, big.subarray(0, 2 * MiB)]]),
      beforeOfferReply: async () => {
        const changed = Buffer.from(big);
        changed[MiB + 5] = (changed[MiB + 5] as number) ^ 0xff;
        await writeFile(path, changed);
      },
    };
    const result = await backup();
    expect(receiver.violations).toEqual([]);
    expect(result.status).toBe('partial');
    expect(result.fileErrors).toEqual([{ path, message: 'changed while being backed up (its start no longer matches what was offered)' }]);
    expect(receiver.files.get(path)?.error).toMatch(/changed while being backed up/);
    expect(receiver.files.get(join(src, 'z-after'))?.content.toString()).toBe('after');
  });
});
