import { type TreeEntry, TreeEntryType } from '@berth/repository';
import { EntryType, ErrorCode, PlanAction } from '@berth/wire';
import { createHash, randomUUID } from 'node:crypto';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { viewLocal, viewSnapshot } from './support/compare';
import { startReceiver, type ReceiverFixture } from './support/receiver-fixture';
import { runRestore } from './support/restore-client';
import { makeSampleTree } from './support/sample-tree';
import { runBackup, type BackupOptions } from './support/test-agent';

const hostA = { hostId: randomUUID(), hostName: 'alpha', credential: 'cred-a' };
const hostB = { hostId: randomUUID(), hostName: 'beta', credential: 'cred-b' };

const restore1 = randomUUID();
const restore2 = randomUUID();
const restore3 = randomUUID();
const runA1 = randomUUID();
const runA2 = randomUUID();
const runA3 = randomUUID();
const runB1 = randomUUID();
const runResume = randomUUID();
const runChunks = randomUUID();
const runChunksV1 = randomUUID();
const runTwice = randomUUID();

let fx: ReceiverFixture;
let source: string;

beforeAll(async () => {
  fx = await startReceiver({ heartbeatMs: 100, idleTimeoutMs: 5000 });
  fx.verifier.addHost(hostA).addHost(hostB);
  source = await mkdtemp(join(tmpdir(), 'berth-source-'));
  await makeSampleTree(source);
});

afterAll(async () => {
  await fx.stop();
  await rm(source, { recursive: true, force: true });
});

function backupAs(host: typeof hostA, runId: string, root: string, extra: Pick<BackupOptions, 'chunkEntries' | 'stopAfterDirs' | 'stopAfterPartialChunks' | 'protocol'> = {}): ReturnType<typeof runBackup> {
  fx.verifier.addRun({ runId, hostId: host.hostId, kind: 'backup' });
  return runBackup({ port: fx.port, hostId: host.hostId, runId, credential: host.credential, root, ...extra });
}

function wholeCount(plans: ReadonlyArray<{ actions: readonly number[] }>): number {
  return plans.reduce((n, p) => n + p.actions.filter((a) => a === PlanAction.Whole).length, 0);
}

describe('backup over the real protocol', () => {
  let firstRoot = '';
  let firstSnapshot = '';

  it('stores the tree and publishes a snapshot whose trees and blobs match the source', async () => {
    const result = await backupAs(hostA, runA1, source, { chunkEntries: 7 });
    expect(result.closeReason).toBeNull();
    expect(result.done).not.toBeNull();
    const done = result.done!;
    expect(await viewSnapshot(fx.repository, done.rootTree)).toEqual(await viewLocal(source));
    // 40 small files + hosts + config + 2 alice files + big + hard link
    expect(done.stats.files).toBe(46);
    expect(done.stats.dirs).toBe(5);
    expect(result.committed.some((c) => !c.dirComplete)).toBe(true);
    expect(result.committed.filter((c) => c.dirComplete).map((c) => c.dir.toString())).toEqual(['/etc/app', '/etc', '/home/alice/empty-dir', '/home/alice', '/home', '/']);

    const [record] = await fx.repository.listSnapshots(hostA.hostId);
    expect(record).toMatchObject({ id: done.snapshotId, hostId: hostA.hostId, hostName: 'alpha', runId: runA1, rootTree: done.rootTree, paths: ['/etc', '/home'] });
    await fx.sessionEnded(runA1);
    expect(await fx.repository.readJournal(runA1)).toEqual([]);
    expect((await fx.repository.verifySnapshot(done.snapshotId)).problems).toEqual([]);
    expect(fx.logs.some((l) => l.includes(`start host=${hostA.hostId} run=${runA1} role=backup`))).toBe(true);
    expect(fx.logs.some((l) => l.includes(`end host=${hostA.hostId} run=${runA1} role=backup reason=ok snapshot=${done.snapshotId}`))).toBe(true);
    firstRoot = done.rootTree;
    firstSnapshot = done.snapshotId;
  });

  it('reuses unchanged files by the quick check and sends only what changed', async () => {
    const unchanged = await backupAs(hostA, runA2, source);
    expect(wholeCount(unchanged.plans)).toBe(0);
    expect(unchanged.dataBytes).toBe(0);
    expect(unchanged.done?.rootTree).toBe(firstRoot);

    await writeFile(join(source, 'home', 'f07.txt'), 'changed content\n');
    const changed = await backupAs(hostA, runA3, source);
    expect(wholeCount(changed.plans)).toBe(1);
    expect(changed.dataBytes).toBe('changed content\n'.length);
    expect(await viewSnapshot(fx.repository, changed.done!.rootTree)).toEqual(await viewLocal(source));
  });

  it('stores identical content once, across hosts', async () => {
    const copy = await mkdtemp(join(tmpdir(), 'berth-copy-'));
    try {
      await cp(source, copy, { recursive: true, verbatimSymlinks: true });
      const result = await backupAs(hostB, runB1, copy);
      expect(result.done!.stats.bytesReceived).toBeGreaterThan(3 * 1024 * 1024);
      expect(result.done!.stats.bytesStored).toBe(0);
      expect(await fx.repository.latestSnapshot(hostA.hostId)).not.toBeNull();
      expect((await fx.repository.listSnapshots(hostB.hostId)).map((s) => s.hostName)).toEqual(['beta']);
    } finally {
      await rm(copy, { recursive: true, force: true });
    }
  });

  it('resumes a run after the last committed directory', async () => {
    const resumeSource = await mkdtemp(join(tmpdir(), 'berth-resume-'));
    try {
      await makeSampleTree(resumeSource);
      await writeFile(join(resumeSource, 'etc', 'unique'), `unique ${Date.now()}`);
      const first = await backupAs(hostA, runResume, resumeSource, { stopAfterDirs: 3 });
      expect(first.done).toBeNull();
      const journal = await fx.repository.readJournal(runResume);
      expect(journal.map((r) => r.dir.toString())).toEqual(['/etc/app', '/etc', '/home/alice/empty-dir']);

      const second = await backupAs(hostA, runResume, resumeSource);
      expect(second.welcome!.committedDirs.map((d) => d.toString())).toEqual(['/etc/app', '/etc', '/home/alice/empty-dir']);
      expect(second.chunksSent).toBe(3);
      expect(second.done).not.toBeNull();
      expect(await viewSnapshot(fx.repository, second.done!.rootTree)).toEqual(await viewLocal(resumeSource));
      expect(second.done!.stats.files).toBe(47);
      await fx.sessionEnded(runResume);
      expect(await fx.repository.readJournal(runResume)).toEqual([]);
    } finally {
      await rm(resumeSource, { recursive: true, force: true });
    }
  });

  it('resumes inside a directory after its last committed chunk: only later entries are sent again', async () => {
    const resumeSource = await mkdtemp(join(tmpdir(), 'berth-resume-chunks-'));
    try {
      const big = join(resumeSource, 'big');
      await mkdir(join(big, 'sub'), { recursive: true });
      await writeFile(join(big, 'sub', 'inner'), 'inner');
      for (let i = 0; i < 49; i++) await writeFile(join(big, `f${String(i).padStart(2, '0')}`), `file ${i} `.repeat(i + 1));
      // 50 entries in /big (49 files and sub), 10 per chunk: stop once three of its chunks are committed.
      const first = await backupAs(hostA, runChunks, resumeSource, { chunkEntries: 10, stopAfterPartialChunks: 3 });
      expect(first.done).toBeNull();
      const journal = await fx.repository.readJournal(runChunks);
      const partial = journal.filter((r) => r.partialThrough !== undefined);
      expect(partial.map((r) => [r.dir.toString(), r.partialThrough?.toString()])).toEqual([
        ['/big', 'f09'],
        ['/big', 'f19'],
        ['/big', 'f29'],
      ]);

      const second = await backupAs(hostA, runChunks, resumeSource, { chunkEntries: 10 });
      expect(second.welcome!.committedDirs.map((d) => d.toString())).toEqual(['/big/sub']);
      expect(second.welcome!.resumeDirs.map(({ dir, after }) => [dir.toString(), after.toString()])).toEqual([['/big', 'f29']]);
      // f30..f48 and sub: 20 entries, then the root's one.
      expect(second.entriesSent.get('/big')).toBe(20);
      expect(second.entriesSent.get('/big/sub')).toBeUndefined();
      // Content of f30..f48 only: nothing committed before is sent twice.
      const laterBytes = Array.from({ length: 19 }, (_, k) => `file ${k + 30} `.repeat(k + 31).length).reduce((a, b) => a + b, 0);
      expect(second.dataBytes).toBe(laterBytes);
      expect(second.done).not.toBeNull();
      expect(await viewSnapshot(fx.repository, second.done!.rootTree)).toEqual(await viewLocal(resumeSource));
      expect(second.done!.stats.files).toBe(50);
      await fx.sessionEnded(runChunks);
      expect(await fx.repository.readJournal(runChunks)).toEqual([]);
    } finally {
      await rm(resumeSource, { recursive: true, force: true });
    }
  });

  it('resumes a directory interrupted twice: the chunk records of both attempts seed it, in order', async () => {
    const resumeSource = await mkdtemp(join(tmpdir(), 'berth-resume-twice-'));
    try {
      for (let i = 0; i < 60; i++) await writeFile(join(resumeSource, `g${String(i).padStart(2, '0')}`), `twice ${i}`);
      const first = await backupAs(hostA, runTwice, resumeSource, { chunkEntries: 10, stopAfterPartialChunks: 2 });
      expect(first.done).toBeNull();
      const second = await backupAs(hostA, runTwice, resumeSource, { chunkEntries: 10, stopAfterPartialChunks: 2 });
      expect(second.done).toBeNull();
      expect(second.welcome!.resumeDirs.map(({ after }) => after.toString())).toEqual(['g19']);
      expect(second.entriesSent.get('/')).toBe(20);
      const third = await backupAs(hostA, runTwice, resumeSource, { chunkEntries: 10 });
      expect(third.welcome!.resumeDirs.map(({ after }) => after.toString())).toEqual(['g39']);
      expect(third.entriesSent.get('/')).toBe(20);
      expect(await viewSnapshot(fx.repository, third.done!.rootTree)).toEqual(await viewLocal(resumeSource));
      expect(third.done!.stats.files).toBe(60);
    } finally {
      await rm(resumeSource, { recursive: true, force: true });
    }
  });

  it('a protocol 1 agent ignores chunk records and sends a partly committed directory whole', async () => {
    const resumeSource = await mkdtemp(join(tmpdir(), 'berth-resume-v1-'));
    try {
      for (let i = 0; i < 30; i++) await writeFile(join(resumeSource, `f${String(i).padStart(2, '0')}`), `v1 file ${i}`);
      const first = await backupAs(hostA, runChunksV1, resumeSource, { chunkEntries: 10, stopAfterPartialChunks: 1 });
      expect(first.done).toBeNull();
      expect((await fx.repository.readJournal(runChunksV1)).map((r) => r.partialThrough?.toString())).toEqual(['f09']);
      const second = await backupAs(hostA, runChunksV1, resumeSource, { chunkEntries: 10, protocol: 1 });
      expect(second.welcome!.resumeDirs).toEqual([]);
      expect(second.entriesSent.get('/')).toBe(30);
      expect(await viewSnapshot(fx.repository, second.done!.rootTree)).toEqual(await viewLocal(resumeSource));
    } finally {
      await rm(resumeSource, { recursive: true, force: true });
    }
  });

  it('streams a snapshot for restore: pre-order, content, hard links as references', async () => {
    fx.verifier.addRun({ runId: restore1, hostId: hostA.hostId, kind: 'restore', restore: { snapshotId: firstSnapshot, sourceHostId: hostA.hostId, subPath: null } });
    const result = await runRestore({ port: fx.port, hostId: hostA.hostId, runId: restore1, credential: hostA.credential, snapshotId: firstSnapshot });
    expect(result.done).not.toBeNull();
    const expected = await viewSnapshot(fx.repository, firstRoot);
    expect(result.entries.map((e) => e.path)).toEqual(expected.map((e) => e.path));
    expect(result.entries.map((e) => e.ordinal)).toEqual(expected.map((_, i) => i));
    const byPath = new Map(result.entries.map((e) => [e.path, e]));
    const hosts = byPath.get('etc/hosts')!;
    const hard = byPath.get('home/alice/hosts-hard')!;
    expect(hosts.content?.toString()).toBe('127.0.0.1 localhost\n');
    expect(hard.hardlinkOf).toBe(hosts.ordinal);
    expect(hard.content).toBeNull();
    expect(byPath.get('home/alice/big.bin')!.content!.length).toBe(3 * 1024 * 1024 + 17);
    expect(byPath.get('home/alice/hosts-link')!.entry.linkTarget?.toString()).toBe('../etc/hosts');
    expect(byPath.get('home/alice/empty-dir')!.entry.type).toBe(EntryType.Dir);
    expect(result.done!.entries).toBe(expected.length);
  });

  it('restores a sub-path with its ancestors first', async () => {
    fx.verifier.addRun({ runId: restore2, hostId: hostA.hostId, kind: 'restore', restore: { snapshotId: firstSnapshot, sourceHostId: hostA.hostId, subPath: '/home/alice' } });
    const result = await runRestore({ port: fx.port, hostId: hostA.hostId, runId: restore2, credential: hostA.credential, snapshotId: firstSnapshot, subPath: '/home/alice' });
    expect(result.entries.map((e) => e.path)).toEqual([
      'home',
      'home/alice',
      'home/alice/-leading dash',
      'home/alice/big.bin',
      'home/alice/empty-dir',
      'home/alice/empty-file',
      'home/alice/hosts-hard',
      'home/alice/hosts-link',
    ]);
    expect(result.entries.find((e) => e.path === 'home/alice/hosts-hard')!.content?.toString()).toBe('127.0.0.1 localhost\n');
  });

  it('ends a restore with an internal error naming the file whose stored content does not match its hash', async () => {
    // A snapshot whose one-chunk file names other content than its chunk holds (as damage or a bug could leave it).
    const { id: chunk } = await fx.repository.putBlob(Buffer.from('what is stored'));
    const entry: TreeEntry = {
      name: Buffer.from('mislabelled'),
      type: TreeEntryType.File,
      mode: 0o644,
      uid: 0,
      gid: 0,
      mtimeNs: 0n,
      ctimeNs: 0n,
      ino: 7n,
      dev: 1n,
      nlink: 1,
      rdev: 0n,
      size: 14n,
      linkTarget: null,
      subtree: null,
      content: { sha256: createHash('sha256').update('what was sent').digest(), chunks: [chunk] },
    };
    const root = await fx.repository.putTree({ entries: [entry] });
    await fx.repository.flush();
    const snapshotId = randomUUID();
    const now = new Date().toISOString();
    await fx.repository.publishSnapshot({
      id: snapshotId,
      hostId: hostA.hostId,
      hostName: hostA.hostName,
      runId: randomUUID(),
      rootTree: root.id.toString('hex'),
      paths: ['/'],
      startedAt: now,
      publishedAt: now,
      stats: { files: 1, dirs: 1, bytes: 14, bytesReceived: 14, bytesStored: 14 },
    });
    for (const protocol of [7, 6]) {
      const runId = randomUUID();
      fx.verifier.addRun({ runId, hostId: hostA.hostId, kind: 'restore', restore: { snapshotId, sourceHostId: hostA.hostId, subPath: null } });
      const result = await runRestore({ port: fx.port, hostId: hostA.hostId, runId, credential: hostA.credential, snapshotId, protocol });
      expect(result.closeReason).toMatchObject({ code: ErrorCode.Internal });
      expect(result.closeReason?.message).toContain('of "mislabelled" does not match its hash');
    }
  });

  it('refuses a restore of a snapshot the run was not granted, or outside the granted sub-path', async () => {
    fx.verifier.addRun({ runId: restore3, hostId: hostB.hostId, kind: 'restore', restore: { snapshotId: 'another-snapshot', sourceHostId: hostB.hostId, subPath: null } });
    const other = await runRestore({ port: fx.port, hostId: hostB.hostId, runId: restore3, credential: hostB.credential, snapshotId: firstSnapshot });
    expect(other.closeReason).toMatchObject({ code: ErrorCode.Forbidden, remote: true });
    expect(other.entries).toEqual([]);

    const outside = await runRestore({ port: fx.port, hostId: hostA.hostId, runId: restore2, credential: hostA.credential, snapshotId: firstSnapshot, subPath: '/etc' });
    expect(outside.closeReason).toMatchObject({ code: ErrorCode.Forbidden });
  });
});
