import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { chmod, link, lstat, mkdir, readdir, readFile, readlink, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JobName, type BackupJobData, type RestoreJobData } from '@berth/contracts';
import { type ChunkMessage, EntryType, ErrorCode, type Message, MessageType } from '@berth/wire';
import { runBackup } from '../src/backup/backup.service';
import { SentLedger } from '../src/backup/resend-tracker';
import { HttpControllerClient } from '../src/controller/controller-client';
import { AgentErrorCode } from '../src/errors/agent-error';
import { standaloneJob, type RunJob } from '../src/jobs/run-job';
import { runRestore } from '../src/restore/restore.service';
import { silentLogger } from '../src/util/logger';
import { RecordingController } from './recording-controller';
import { ScriptedReceiver } from './scripted-receiver';

// Real files and sockets; generous under load (the default is 5 s).
jest.setTimeout(30_000);

describe('backup and restore services against a scripted receiver', () => {
  let base: string;
  let src: string;
  let controller: RecordingController;
  let receiver: ScriptedReceiver;
  let runCounter = 0;
  let runId: string;

  beforeEach(async () => {
    base = mkdtempSync(join(tmpdir(), 'berth-backup-'));
    src = join(base, 'src');
    await mkdir(src);
    controller = await new RecordingController().start();
    receiver = await new ScriptedReceiver().start();
    runId = `run-${++runCounter}`;
  });
  afterEach(async () => {
    await receiver.stop();
    await controller.stop();
    await rm(base, { recursive: true, force: true });
  });

  const deps = (extra: { signal?: AbortSignal; firstProbeHoldMs?: number; attemptStartLatestMs?: number } = {}) => ({
    controller: new HttpControllerClient(controller.url, controller.credential),
    connector: receiver,
    hostId: controller.hostId,
    credential: controller.credential,
    log: silentLogger,
    progressIntervalMs: 50,
    ...extra,
  });
  const backupJob = (paths: string[] = [src], excludes: string[] = []): RunJob<BackupJobData> =>
    standaloneJob({ kind: JobName.Backup, runId, hostId: controller.hostId, paths, excludes });

  it('sends every directory post-order, content of every planned file, and reports success', async () => {
    await mkdir(join(src, 'a/b'), { recursive: true });
    const big = randomBytes(3 * 1024 * 1024 + 17);
    await writeFile(join(src, 'a/b/big'), big);
    await writeFile(join(src, 'a/small'), 'small');
    await writeFile(join(src, 'empty'), '');
    await symlink('a/small', join(src, 'link'));
    const result = await runBackup(backupJob(), deps());

    expect(receiver.violations).toEqual([]);
    expect(receiver.hellos[0]).toMatchObject({ role: 'backup', hostId: controller.hostId, runId, credential: controller.credential });
    const dirs = receiver.chunks.map((chunk) => chunk.dir.toString());
    expect(dirs.slice(0, 3)).toEqual([join(src, 'a/b'), join(src, 'a'), src]);
    expect(dirs[dirs.length - 1]).toBe('/');
    expect(receiver.files.get(join(src, 'a/b/big'))?.content.equals(big)).toBe(true);
    expect(receiver.files.get(join(src, 'a/small'))?.content.toString()).toBe('small');
    expect(receiver.files.get(join(src, 'empty'))?.content.length).toBe(0);
    expect(Math.max(...receiver.dataFrameSizes)).toBeLessThanOrEqual(1024 * 1024);

    expect(result.status).toBe('succeeded');
    expect(result.counters).toMatchObject({ filesDone: 4, bytesDone: big.length + 5, bytesSent: big.length + 5, fileErrors: 0 });
    const finishes = controller.finishes(runId);
    expect(finishes).toHaveLength(1);
    expect(finishes[0]).toMatchObject({ status: 'succeeded', snapshot: { id: '00000000-0000-4000-8000-000000000001' } });
    expect(controller.calls[0]).toMatchObject({ method: 'POST', path: `/agent/v1/runs/${runId}/start` });
  });

  it('sends content while runStart is on its way, and Finish only once it is answered', async () => {
    await writeFile(join(src, 'f'), 'x');
    let answer: () => void = () => undefined;
    controller.holdStarts = new Promise((resolve) => (answer = resolve));
    const running = runBackup(backupJob(), deps());
    const stored = (): boolean => receiver.files.get(join(src, 'f'))?.content.toString() === 'x';
    for (let waited = 0; !stored() && waited < 10_000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
    // The receiver has verified the run and holds every file: the agent waits for the controller before Finish.
    expect(stored()).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(receiver.finished).toBe(false);
    expect(controller.progress(runId)).toHaveLength(0);
    expect(controller.finishes(runId)).toHaveLength(0);
    answer();
    const result = await running;
    expect(result.status).toBe('succeeded');
    expect(receiver.finished).toBe(true);
    expect(controller.finishes(runId)).toHaveLength(1);
  });

  it('asks the controller to start the attempt once the receiver has answered Hello, not while it verifies the session', async () => {
    await writeFile(join(src, 'f'), 'x');
    const startsBeforeWelcome: number[] = [];
    receiver.script = {
      beforeWelcome: async () => {
        await new Promise((resolve) => setTimeout(resolve, 100));
        startsBeforeWelcome.push(controller.calls.filter((call) => call.path.endsWith('/start')).length);
      },
    };
    const result = await runBackup(backupJob(), deps({ attemptStartLatestMs: 30_000 }));
    expect(result.status).toBe('succeeded');
    expect(startsBeforeWelcome).toEqual([0]);
    expect(controller.calls.filter((call) => call.path === `/agent/v1/runs/${runId}/start`)).toHaveLength(1);
  });

  it('asks the controller to start the attempt after a while when the receiver does not answer Hello', async () => {
    await writeFile(join(src, 'f'), 'x');
    receiver.script = { silent: true };
    const abort = new AbortController();
    const started = Date.now();
    const running = runBackup(backupJob(), deps({ signal: abort.signal, attemptStartLatestMs: 400 }));
    for (let waited = 0; receiver.hellos.length === 0 && waited < 5_000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
    // Hello is in and unanswered: no runStart yet.
    expect(controller.calls.filter((call) => call.path.endsWith('/start'))).toHaveLength(0);
    for (let waited = 0; controller.calls.every((call) => !call.path.endsWith('/start')) && waited < 5_000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    expect(controller.calls.filter((call) => call.path === `/agent/v1/runs/${runId}/start`)).toHaveLength(1);
    abort.abort();
    await expect(running).rejects.toMatchObject({ code: AgentErrorCode.Interrupted });
  });

  it('ends the session without Finish when runStart is refused', async () => {
    await writeFile(join(src, 'f'), 'x');
    controller.refuseStarts = { status: 409, code: 'run_finished', message: 'the run has ended' };
    await expect(runBackup({ ...backupJob(), retriesLeft: true }, deps())).rejects.toMatchObject({ code: AgentErrorCode.ControllerRejected });
    expect(receiver.finished).toBe(false);
    expect(controller.finishes(runId)[0]).toMatchObject({ status: 'failed', willRetry: false });
  });

  it('ends the session without Finish when runStart is refused after the content has gone out', async () => {
    await writeFile(join(src, 'f'), 'x');
    let answer: () => void = () => undefined;
    controller.holdStarts = new Promise((resolve) => (answer = resolve));
    controller.refuseStarts = { status: 409, code: 'run_finished', message: 'the run has ended' };
    const sentLedger = new SentLedger();
    const running = runBackup({ ...backupJob(), retriesLeft: true }, { ...deps(), sentLedger });
    for (let waited = 0; !receiver.files.has(join(src, 'f')) && waited < 10_000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(receiver.files.has(join(src, 'f'))).toBe(true);
    answer();
    await expect(running).rejects.toMatchObject({ code: AgentErrorCode.ControllerRejected });
    expect(receiver.finished).toBe(false);
    expect(controller.finishes(runId)[0]).toMatchObject({ status: 'failed', willRetry: false });
    // What went out before the refusal is remembered for a later attempt's count of content sent again.
    expect(sentLedger.get(runId)).toMatchObject({ dir: Buffer.from(src), name: Buffer.from('f') });
  });

  it('ends the session when runStart is refused while it waits in the receiver\'s line', async () => {
    await writeFile(join(src, 'f'), 'x');
    receiver.script = { silent: true };
    let answer: () => void = () => undefined;
    controller.holdStarts = new Promise((resolve) => (answer = resolve));
    controller.refuseStarts = { status: 409, code: 'run_finished', message: 'the run has ended' };
    const running = runBackup(backupJob(), deps());
    for (let waited = 0; receiver.hellos.length === 0 && waited < 10_000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
    answer();
    await expect(running).rejects.toMatchObject({ code: AgentErrorCode.ControllerRejected });
    expect(receiver.chunks).toHaveLength(0);
  });

  it('keeps many chunks in flight without waiting for their plans', async () => {
    for (let i = 0; i < 40; i++) await writeFile(join(src, `f${String(i).padStart(2, '0')}`), `content ${i}`);
    // Plans are withheld until 8 chunks of 5 entries are in: a sender with a round trip per chunk would hang.
    receiver.script = { chunkMaxEntries: 5, holdPlansUntilChunks: 8 };
    const result = await runBackup(backupJob(), deps());
    expect(receiver.violations).toEqual([]);
    expect(receiver.maxUnplanned).toBeGreaterThanOrEqual(8);
    expect(receiver.chunks.filter((chunk) => chunk.dir.toString() === src).map((chunk) => [chunk.entries.length, chunk.last])).toEqual([
      ...Array.from({ length: 7 }, () => [5, false]),
      [5, true],
    ]);
    expect(result.counters.filesDone).toBe(40);
  });

  it('does not count directory digests as chunks in flight: a chunk waiting for its plan does not hold back the next 40 directories', async () => {
    for (let i = 0; i < 40; i++) {
      await mkdir(join(src, `d${String(i).padStart(2, '0')}`));
      await writeFile(join(src, `d${String(i).padStart(2, '0')}`, 'f'), `content ${i}`);
    }
    // Every directory is named by its digest, missed, then sent: 80 seqs, 40 chunks. Plans come only once 40 chunks
    // are in, so the first chunk's content waits behind all of them; a window counting digests would stop at 64 seqs.
    receiver.script = { reuseDirs: new Set(), holdPlansUntilChunks: 40 };
    const result = await runBackup(backupJob(), deps({ firstProbeHoldMs: 0 }));
    expect(result.status).toBe('succeeded');
    expect(receiver.violations).toEqual([]);
    expect(receiver.maxUnplanned).toBeGreaterThanOrEqual(40);
    expect(receiver.digests.filter((d) => d.dir.startsWith(join(src, 'd')))).toHaveLength(40);
    expect(result.counters.filesDone).toBe(40);
  });

  it('never exceeds the byte and op credit, however small', async () => {
    for (let i = 0; i < 30; i++) await writeFile(join(src, `s${i}`), randomBytes(3000));
    const big = randomBytes(700 * 1024);
    await writeFile(join(src, 'big'), big);
    receiver.script = { creditBytes: 64 * 1024, creditOps: 7, chunkMaxEntries: 10, commitDelayMs: 2 };
    const result = await runBackup(backupJob(), deps());
    expect(receiver.violations).toEqual([]);
    expect(Math.max(...receiver.dataFrameSizes)).toBeLessThanOrEqual(64 * 1024);
    expect(receiver.files.get(join(src, 'big'))?.content.equals(big)).toBe(true);
    expect(result.counters.filesDone).toBe(31);
  });

  it('waits for admission, then proceeds', async () => {
    await writeFile(join(src, 'f'), 'x');
    receiver.script = { waits: 3, waitMs: 100 };
    const lines: string[] = [];
    const result = await runBackup(backupJob(), { ...deps(), log: { ...silentLogger, info: (line: string) => lines.push(line) } });
    expect(result.status).toBe('succeeded');
    expect(lines.filter((line) => line.includes('waiting (position'))).toHaveLength(3);
  });

  it('skips directories committed by an earlier attempt', async () => {
    await mkdir(join(src, 'done/deep'), { recursive: true });
    await mkdir(join(src, 'todo'));
    await writeFile(join(src, 'done/deep/f'), 'f');
    receiver.script = { committedDirs: [Buffer.from(join(src, 'done'))] };
    const result = await runBackup(backupJob(), deps());
    expect(receiver.chunks.map((chunk) => chunk.dir.toString()).filter((dir) => dir.startsWith(src))).toEqual([join(src, 'todo'), src]);
    expect(receiver.chunks.find((chunk) => chunk.dir.toString() === src)?.entries.map((entry) => entry.name.toString())).toEqual(['done', 'todo']);
    expect(result.resumedDirs).toBe(1);
  });

  it('names a directory by its digest before its held subdirectories; sends the chunks of the misses only, children before parents', async () => {
    await mkdir(join(src, 'same/deep'), { recursive: true });
    await mkdir(join(src, 'changed'));
    await writeFile(join(src, 'same/deep/f'), 'f');
    await writeFile(join(src, 'same/g'), 'g');
    await writeFile(join(src, 'changed/h'), 'h');
    receiver.script = { reuseDirs: new Set([join(src, 'same')]) };
    // Every probe held until the walk ends: "/" goes first, and each miss sends its subdirectories' probes.
    const result = await runBackup(backupJob(), deps({ firstProbeHoldMs: 60_000 }));
    expect(result.status).toBe('succeeded');
    expect(receiver.violations).toEqual([]);
    const mine = (dir: string): boolean => dir.startsWith(src);
    expect(receiver.digests[0]?.dir).toBe('/');
    // same/ is reused whole: same/deep, held below it, is never named.
    expect(receiver.digests.map((d) => d.dir).filter(mine)).toEqual([src, join(src, 'changed'), join(src, 'same')]);
    expect(receiver.chunks.map((chunk) => chunk.dir.toString()).filter(mine)).toEqual([join(src, 'changed'), src]);
    expect([...receiver.files.keys()].filter(mine).sort()).toEqual([join(src, 'changed/h')]);
    // The files of the reused subtree (same/g and same/deep/f) count as done, so the run's totals stay whole.
    expect(result.counters.filesDone).toBe(result.counters.filesTotal);
    expect(result.counters.filesTotal).toBe(3);
  });

  it('names an unchanged tree by one digest, that of "/"', async () => {
    await mkdir(join(src, 'a/b'), { recursive: true });
    await mkdir(join(src, 'c'));
    await writeFile(join(src, 'a/b/f'), 'f');
    await writeFile(join(src, 'c/g'), 'g');
    receiver.script = { reuseDirs: new Set(['/']) };
    const result = await runBackup(backupJob(), deps({ firstProbeHoldMs: 60_000 }));
    expect(result.status).toBe('succeeded');
    expect(receiver.digests.map((d) => [d.dir, d.reused])).toEqual([['/', true]]);
    expect(receiver.chunks).toEqual([]);
    expect(result.counters).toMatchObject({ filesTotal: 2, filesDone: 2, bytesTotal: 2, bytesDone: 2 });
  });

  it('sends no directory digest when the receiver holds no previous snapshot of the host, and holds nothing back', async () => {
    for (const dir of ['p/q', 's']) await mkdir(join(src, dir), { recursive: true });
    for (const file of ['p/q/1', 's/2', '3']) await writeFile(join(src, file), file);
    // A hold of a minute would be felt: with no previous snapshot nothing is held, and the run ends at once.
    receiver.script = { previousSnapshot: false, reuseDirs: new Set(['/']) };
    const started = Date.now();
    const result = await runBackup(backupJob(), deps({ firstProbeHoldMs: 60_000 }));
    expect(result.status).toBe('succeeded');
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(receiver.violations).toEqual([]);
    expect(receiver.digests).toEqual([]);
    const mine = (dir: string): boolean => dir.startsWith(src);
    expect(receiver.chunks.map((chunk) => chunk.dir.toString()).filter(mine)).toEqual([join(src, 'p/q'), join(src, 'p'), join(src, 's'), src]);
    expect(result.counters.filesDone).toBe(3);
  });

  it("on a host's first backup, sends a chunk's content without waiting for its plan", async () => {
    await mkdir(join(src, 'a'));
    const big = randomBytes(3 * 1024 * 1024 + 5);
    await writeFile(join(src, 'a/big'), big);
    await writeFile(join(src, 'a/small'), 'small');
    await writeFile(join(src, 'b'), 'b');
    await symlink('b', join(src, 'link'));
    // Plans come back 400 ms after their chunks: content that waited for them would arrive after them.
    receiver.script = { previousSnapshot: false, planDelayMs: 400 };
    const result = await runBackup(backupJob(), deps());
    expect(result.status).toBe('succeeded');
    expect(receiver.violations).toEqual([]);
    // Every file's content ended before its chunk's plan went out; the large one was offered by its first chunk.
    expect(receiver.contentBeforePlan.filter((e) => e.startsWith('FileEnd')).length).toBe(3);
    expect(receiver.contentBeforePlan.some((e) => e.startsWith('ContentOffer'))).toBe(true);
    expect(receiver.files.get(join(src, 'a/big'))?.content.equals(big)).toBe(true);
    expect(receiver.files.get(join(src, 'b'))?.content.toString()).toBe('b');
    // Three files and the symlink.
    expect(result.counters.filesDone).toBe(4);
  });

  it("on a host's first backup, sends Finish only once the receiver's plans have confirmed the ones it took", async () => {
    await writeFile(join(src, 'a'), 'a');
    // Plans that never come: the content goes out all the same, Finish does not.
    receiver.script = { previousSnapshot: false, holdPlansUntilChunks: 1_000_000 };
    const abort = new AbortController();
    const running = runBackup(backupJob(), deps({ signal: abort.signal }));
    for (let waited = 0; !receiver.contentBeforePlan.includes(`FileEnd ${receiver.chunks[0]?.seq ?? -1}/0`) && waited < 5_000; waited += 10) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(receiver.contentBeforePlan).toContain(`FileEnd ${receiver.chunks[0]?.seq ?? -1}/0`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(receiver.finished).toBe(false);
    abort.abort();
    await expect(running).rejects.toMatchObject({ code: AgentErrorCode.Interrupted });
  });

  it('waits for the plans when the receiver holds a snapshot of the host to compare with', async () => {
    await writeFile(join(src, 'a'), 'a');
    await writeFile(join(src, 'b'), 'b');
    receiver.script = { planDelayMs: 100, reuseDirs: new Set() };
    const result = await runBackup(backupJob(), deps());
    expect(result.status).toBe('succeeded');
    expect(receiver.violations).toEqual([]);
    expect(receiver.contentBeforePlan).toEqual([]);
    expect(receiver.files.get(join(src, 'a'))?.content.toString()).toBe('a');
  });

  it("fails the session when a first backup's plan asks for anything but whole files", async () => {
    const path = join(src, 'f');
    await writeFile(path, randomBytes(8192));
    receiver.script = { previousSnapshot: false, deltaBases: new Map([[path, randomBytes(8192)]]) };
    await expect(runBackup({ ...backupJob(), retriesLeft: true }, deps())).rejects.toMatchObject({
      code: AgentErrorCode.Protocol,
      message: expect.stringMatching(/Signature for entry 0 of chunk \d+ on a host's first backup, which has no previous version to sign/) as unknown,
    });
  });

  it('fails the session when the receiver signs an entry its chunk does not hold, or one that is not a regular file', async () => {
    await writeFile(join(src, 'a'), 'a');
    await writeFile(join(src, 'b'), 'b');
    await mkdir(join(src, 'sub'));
    const signatureFor = (chunk: ChunkMessage, index: number): Message => ({ type: MessageType.Signature, seq: chunk.seq, index, data: Buffer.alloc(8), last: true, basisChunks: null });
    const named = (chunk: ChunkMessage, name: string): boolean => chunk.dir.toString() === src && chunk.entries[0]?.name.toString() === name;
    // One entry a chunk: entry 1 of the chunk of "a" is no entry of it, though "b" follows it in the directory.
    const faults = [(chunk: ChunkMessage) => (named(chunk, 'a') ? [signatureFor(chunk, 1)] : []), (chunk: ChunkMessage) => (named(chunk, 'sub') ? [signatureFor(chunk, 0)] : [])];
    for (const beforePlanMessages of faults) {
      receiver.script = { reuseDirs: new Set(), chunkMaxEntries: 1, beforePlanMessages };
      await expect(runBackup({ ...backupJob(), retriesLeft: true }, deps())).rejects.toMatchObject({
        code: AgentErrorCode.Protocol,
        message: expect.stringMatching(/Signature for entry [01] of chunk \d+, which awaits no plan or is not a regular file/) as unknown,
      });
    }
  });

  it("fails the session when a first backup's plan is not every regular file whole", async () => {
    await writeFile(join(src, 'a'), 'a');
    await writeFile(join(src, 'b'), 'b');
    receiver.script = { previousSnapshot: false, skipFiles: new Set([join(src, 'b')]) };
    await expect(runBackup({ ...backupJob(), retriesLeft: true }, deps())).rejects.toMatchObject({
      code: AgentErrorCode.Protocol,
      message: expect.stringMatching(/ChunkPlan \d+ has action 0 for entry 1, where a host's first backup plans every regular file Whole and nothing else/) as unknown,
    });
  });

  it('with probes going out as they come, still names each directory once and sends a changed tree post-order', async () => {
    for (const dir of ['p/q', 'p/r', 's']) await mkdir(join(src, dir), { recursive: true });
    for (const file of ['p/q/1', 'p/r/2', 's/3', '4']) await writeFile(join(src, file), file);
    receiver.script = { reuseDirs: new Set() };
    const result = await runBackup(backupJob(), deps({ firstProbeHoldMs: 0 }));
    expect(result.status).toBe('succeeded');
    expect(receiver.violations).toEqual([]);
    const mine = (dir: string): boolean => dir.startsWith(src);
    const walkOrder = [join(src, 'p/q'), join(src, 'p/r'), join(src, 'p'), join(src, 's'), src];
    // However the answers interleave with the walk, every directory is named once and missed, then sent in walk order.
    expect(receiver.digests.map((d) => d.dir).filter(mine).sort()).toEqual([...walkOrder].sort());
    expect(receiver.chunks.map((chunk) => chunk.dir.toString()).filter(mine)).toEqual(walkOrder);
    expect(result.counters.filesDone).toBe(4);
  });

  it('gives a directory the same digest while nothing in its subtree changes, and a new one when a file below it does', async () => {
    await mkdir(join(src, 'a/b'), { recursive: true });
    await writeFile(join(src, 'a/b/f'), 'one');
    const digestOf = async (dir: string): Promise<string | undefined> => {
      runId = `run-${++runCounter}`;
      receiver.digests.length = 0;
      await runBackup(backupJob(), deps());
      return receiver.digests.find((d) => d.dir === dir)?.digest;
    };
    const first = await digestOf(join(src, 'a'));
    expect(first).toMatch(/^[0-9a-f]{64}$/);
    expect(await digestOf(join(src, 'a'))).toBe(first);
    await writeFile(join(src, 'a/b/f'), 'two');
    expect(await digestOf(join(src, 'a'))).not.toBe(first);
  });

  it('records a file that vanishes before it is read, goes on, and ends partial', async () => {
    await writeFile(join(src, 'a'), 'a');
    await writeFile(join(src, 'b-vanishes'), 'b');
    await writeFile(join(src, 'c'), 'c');
    receiver.script = { beforePlan: (chunk) => (chunk.dir.toString() === src ? unlink(join(src, 'b-vanishes')) : Promise.resolve()) };
    const result = await runBackup(backupJob(), deps());
    expect(result.status).toBe('partial');
    expect(result.fileErrors.map((error) => error.path)).toEqual([join(src, 'b-vanishes')]);
    expect(result.fileErrors[0]?.message).toMatch(/^vanished before it could be read/);
    expect(receiver.files.get(join(src, 'b-vanishes'))?.error).toMatch(/vanished/);
    expect(receiver.files.get(join(src, 'c'))?.content.toString()).toBe('c');
    expect(controller.finishes(runId)[0]).toMatchObject({ status: 'partial', fileErrors: [{ path: join(src, 'b-vanishes') }], counters: { fileErrors: 1 } });
  });

  it('does not hang on a file replaced by a FIFO after the walk, nor follow one replaced by a symlink', async () => {
    await writeFile(join(src, 'becomes-fifo'), 'data');
    await writeFile(join(src, 'becomes-link'), 'data');
    await writeFile(join(src, 'target'), 'not to be read through a link');
    receiver.script = {
      beforePlan: async (chunk) => {
        if (chunk.dir.toString() !== src) return;
        await unlink(join(src, 'becomes-fifo'));
        execFileSync('mkfifo', [join(src, 'becomes-fifo')]);
        await unlink(join(src, 'becomes-link'));
        await symlink(join(src, 'target'), join(src, 'becomes-link'));
      },
    };
    const result = await runBackup(backupJob(), deps());
    expect(result.status).toBe('partial');
    const messages = new Map(result.fileErrors.map((error) => [error.path, error.message]));
    expect(messages.get(join(src, 'becomes-fifo'))).toBe('cannot read: no longer a regular file');
    expect(messages.get(join(src, 'becomes-link'))).toBe('replaced by a symlink since the walk (not followed)');
    expect(receiver.files.get(join(src, 'becomes-link'))?.content.length).toBe(0);
  });

  it('backs up a file with mode 000 when running as root (root reads it anyway)', async () => {
    await writeFile(join(src, 'locked'), 'still readable by root');
    await chmod(join(src, 'locked'), 0o000);
    const result = await runBackup(backupJob(), deps());
    expect(process.getuid?.()).toBe(0);
    expect(result.status).toBe('succeeded');
    expect(receiver.files.get(join(src, 'locked'))?.content.toString()).toBe('still readable by root');
  });

  it('reports progress with the last committed directory, or last entry of a committed chunk, as checkpoint', async () => {
    await mkdir(join(src, 'x'));
    for (let i = 0; i < 20; i++) await writeFile(join(src, 'x', `f${i}`), randomBytes(1000));
    receiver.script = { chunkMaxEntries: 2, commitDelayMs: 30 };
    await runBackup(backupJob(), deps());
    const reports = controller.progress(runId);
    expect(reports.length).toBeGreaterThan(1);
    // Reported during the run (commits take 30 ms each here), not only at its end.
    expect(reports[0]!.checkpoint).not.toBe('/');
    // The final counters travel in runFinish (the controller sets the published backup's checkpoint to the root), not in
    // a last progress report.
    expect(controller.finishes(runId)).toMatchObject([{ status: 'succeeded', counters: { filesDone: 20, bytesSent: 20_000 } }]);
    expect(reports.every((report) => report.checkpoint !== '/')).toBe(true);
    // A directory's last chunk names the directory; an earlier chunk names its last entry (the resume point).
    const order = receiver.chunks.map((chunk) => (chunk.last ? chunk.dir.toString() : join(chunk.dir.toString(), chunk.entries[chunk.entries.length - 1]!.name.toString())));
    const seen = reports.flatMap((report) => (report.checkpoint === undefined ? [] : [order.indexOf(report.checkpoint)]));
    expect(seen.every((index, i) => index >= 0 && (i === 0 || index >= seen[i - 1]!))).toBe(true);
    expect(reports.some((report) => report.checkpoint?.startsWith(`${join(src, 'x')}/`) === true)).toBe(true);
  });

  it('keeps the content sent for uncommitted chunks within two chunks (each a resume point), cutting chunks by content', async () => {
    await mkdir(join(src, 'many'));
    for (let i = 0; i < 30; i++) await writeFile(join(src, 'many', `f${String(i).padStart(2, '0')}`), randomBytes(1024 * 1024));
    receiver.script = { chunkMaxEntries: 512, commitLagMs: 50, creditBytes: 64 * 1024 * 1024 };
    const result = await runBackup(backupJob(), deps());
    expect(result.status).toBe('succeeded');
    expect(receiver.violations).toEqual([]);
    // 4 MiB of content per chunk: 30 files of 1 MiB make 8 chunks, and never more than 8 MiB sent uncommitted.
    expect(receiver.chunks.filter((chunk) => chunk.dir.toString() === join(src, 'many')).map((chunk) => chunk.entries.length)).toEqual([4, 4, 4, 4, 4, 4, 4, 2]);
    expect(receiver.maxUncommittedBytes).toBeGreaterThanOrEqual(4 * 1024 * 1024);
    expect(receiver.maxUncommittedBytes).toBeLessThanOrEqual(8 * 1024 * 1024);
    expect(result.counters.bytesSent).toBe(30 * 1024 * 1024);
  });

  it('keeps telling a briefly unavailable controller that the backup is done', async () => {
    await controller.stop();
    controller = await new RecordingController({ unavailableFinishes: 2 }).start();
    await writeFile(join(src, 'f'), 'x');
    const result = await runBackup(backupJob(), deps());
    expect(result.status).toBe('succeeded');
    const finishCalls = controller.calls.filter((call) => call.path === `/agent/v1/runs/${runId}/finish`);
    expect(finishCalls).toHaveLength(3);
    expect(finishCalls[2]?.body).toMatchObject({ status: 'succeeded' });
  });

  it('fails retryably when the receiver ends the session, and says so to the controller', async () => {
    await writeFile(join(src, 'f'), 'x');
    receiver.script = { failAfterChunks: { count: 1, code: ErrorCode.Internal, message: 'disk on fire' } };
    const job = { ...backupJob(), retriesLeft: true };
    const failure = await runBackup(job, deps()).catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: AgentErrorCode.ReceiverError });
    expect((failure as Error).message).toMatch(/disk on fire/);
    const finishes = controller.finishes(runId);
    expect(finishes).toHaveLength(1);
    expect(finishes[0]).toMatchObject({ status: 'failed', willRetry: true });
    expect(finishes[0]?.error).toMatch(/disk on fire/);
  });

  it('fails for good when the receiver refuses the credential', async () => {
    await writeFile(join(src, 'f'), 'x');
    receiver.script = { failAfterChunks: { count: 1, code: ErrorCode.Unauthorized, message: 'who are you' } };
    await expect(runBackup({ ...backupJob(), retriesLeft: true }, deps())).rejects.toMatchObject({ code: AgentErrorCode.CredentialRefused });
    expect(controller.finishes(runId)[0]).toMatchObject({ status: 'failed', willRetry: false });
  });

  it('refuses for good when none of the configured paths exists', async () => {
    await expect(runBackup({ ...backupJob([join(base, 'nope'), join(base, 'nada')]), retriesLeft: true }, deps())).rejects.toMatchObject({
      code: AgentErrorCode.NothingToBackUp,
    });
    expect(controller.finishes(runId)[0]).toMatchObject({ status: 'failed', willRetry: false });
    expect(controller.finishes(runId)[0]?.error).toMatch(/nope.*nada/);
  });

  it('stops cleanly when interrupted while waiting for admission', async () => {
    await writeFile(join(src, 'f'), 'x');
    receiver.script = { silent: true };
    const stop = new AbortController();
    const running = runBackup(backupJob(), deps({ signal: stop.signal }));
    await new Promise((resolve) => setTimeout(resolve, 200));
    stop.abort();
    await expect(running).rejects.toMatchObject({ code: AgentErrorCode.Interrupted });
    expect(controller.finishes(runId)[0]).toMatchObject({ status: 'failed', willRetry: true });
    // The receiver never answered: the attempt was still started first, so the controller records its failure.
    const reports = controller.calls.map((call) => call.path).filter((path) => path.endsWith('/start') || path.endsWith('/finish'));
    expect(reports).toEqual([`/agent/v1/runs/${runId}/start`, `/agent/v1/runs/${runId}/finish`]);
  });

  it('restores what it backed up, byte for byte, with metadata and hard links', async () => {
    await mkdir(join(src, 'dir/sub'), { recursive: true });
    const weird = Buffer.concat([Buffer.from(`${src}/dir/`), Buffer.from([0x6e, 0xff, 0x0a, 0x2d])]);
    await writeFile(weird, 'weird name');
    await writeFile(join(src, 'dir/sub/data'), randomBytes(2 * 1024 * 1024 + 3));
    await writeFile(join(src, 'hard1'), 'linked');
    await link(join(src, 'hard1'), join(src, 'hard2'));
    await symlink('dir/sub/data', join(src, 'sym'));
    await writeFile(join(src, 'sparse'), Buffer.alloc(0));
    await (await import('node:fs/promises')).truncate(join(src, 'sparse'), 8 * 1024 * 1024);
    await runBackup(backupJob(), deps());
    expect(receiver.violations).toEqual([]);

    receiver.restoreStream = receiver.restoreMessagesFromBackup();
    const target = join(base, 'restored');
    const restoreJob: RunJob<RestoreJobData> = standaloneJob({ kind: JobName.Restore, runId: `${runId}-r`, hostId: controller.hostId, snapshotId: 'snap', targetDir: target, subPath: null });
    const result = await runRestore(restoreJob, deps());
    expect(result.status).toBe('succeeded');
    expect(receiver.hellos[1]).toMatchObject({ role: 'restore' });

    const restoredSrc = join(target, src);
    const compare = async (rel: string): Promise<void> => {
      const [a, b] = [await lstat(join(src, rel), { bigint: true }), await lstat(join(restoredSrc, rel), { bigint: true })];
      expect([rel, b.mode, b.uid, b.gid, b.size, b.mtimeNs]).toEqual([rel, a.mode, a.uid, a.gid, a.size, a.mtimeNs]);
      if (a.isFile()) expect(sha(await readFile(join(restoredSrc, rel)))).toBe(sha(await readFile(join(src, rel))));
    };
    for (const rel of ['dir', 'dir/sub', 'dir/sub/data', 'hard1', 'hard2', 'sym', 'sparse', '.']) await compare(rel);
    expect((await readFile(Buffer.concat([Buffer.from(target), weird]))).toString()).toBe('weird name');
    expect((await lstat(join(restoredSrc, 'hard1'))).ino).toBe((await lstat(join(restoredSrc, 'hard2'))).ino);
    expect(await readlink(join(restoredSrc, 'sym'))).toBe('dir/sub/data');
    expect((await lstat(join(restoredSrc, 'sparse'))).blocks).toBe(0);
    expect(await readdir(target)).toEqual([src.split('/')[1]]);
    expect(EntryType.File).toBe(1);
  });
});

function sha(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
