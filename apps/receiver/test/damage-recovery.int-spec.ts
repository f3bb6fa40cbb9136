import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PlanAction } from '@berth/wire';
import { viewLocal, viewSnapshot } from './support/compare';
import { startReceiver, type ReceiverFixture } from './support/receiver-fixture';
import { makeSampleTree } from './support/sample-tree';
import { runBackup, type BackupOptions, type BackupResult } from './support/test-agent';

/**
 * A crash recovery that keeps records after a damaged one (Repository.damage) leaves stored trees that may refer
 * to a lost object. The backups after it must not carry such a hole into a new snapshot: not through the quick
 * check, not through a directory digest recorded before it, not through what an earlier attempt committed.
 */
const temps: string[] = [];
afterAll(async () => {
  for (const dir of temps) await rm(dir, { recursive: true, force: true });
});

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
}

function backup(fx: ReceiverFixture, host: { hostId: string; credential: string }, root: string, runId = randomUUID(), extra: Pick<BackupOptions, 'stopAfterDirs' | 'stopAfterPartialChunks' | 'chunkEntries'> = {}): Promise<BackupResult> {
  fx.verifier.addRun({ runId, hostId: host.hostId, kind: 'backup' });
  return runBackup({ port: fx.port, hostId: host.hostId, runId, credential: host.credential, root, chunkEntries: 16, digests: true, packed: true, ...extra });
}

/** What a disk fault plus a crash leave: the (last) record holding `content` damaged, its pack's index gone. */
async function damageStoredContent(repositoryDir: string, content: Buffer): Promise<void> {
  for (const shard of await readdir(join(repositoryDir, 'packs'))) {
    for (const name of (await readdir(join(repositoryDir, 'packs', shard))).filter((n) => n.endsWith('.pack'))) {
      const path = join(repositoryDir, 'packs', shard, name);
      const bytes = await readFile(path);
      const at = bytes.lastIndexOf(content);
      if (at < 0) continue;
      const middle = at + Math.floor(content.length / 2);
      bytes.writeUInt8((bytes.readUInt8(middle) ^ 0x10) & 0xff, middle);
      await writeFile(path, bytes);
      await rm(path.replace(/\.pack$/, '.idx'));
      return;
    }
  }
  throw new Error('content not found in any pack');
}

type Host = { hostId: string; hostName: string; credential: string };

/** A receiver on the repository at `repositoryDir` (created when new) that knows `host`. */
async function start(repositoryDir: string, host: Host): Promise<ReceiverFixture> {
  const fx = await startReceiver({ heartbeatMs: 100, idleTimeoutMs: 5000 }, { repositoryDir });
  fx.verifier.addHost(host);
  return fx;
}

const newHost = (name: string): Host => ({ hostId: randomUUID(), hostName: name, credential: `cred-${name}` });

/** Damages the record holding `content` (damageStoredContent), then starts a receiver on the repository again. */
async function restartAfterDamage(repositoryDir: string, content: Buffer, host: Host): Promise<ReceiverFixture> {
  await damageStoredContent(repositoryDir, content);
  return start(repositoryDir, host);
}

/** The snapshot refers to stored objects only, and they hold the source as it is. */
async function expectWhole(fx: ReceiverFixture, rootTree: string, source: string): Promise<void> {
  expect(await fx.repository.subtreeStored(Buffer.from(rootTree, 'hex'))).toBe(true);
  expect(await viewSnapshot(fx.repository, rootTree)).toEqual(await viewLocal(source));
}

/** The receiver's line for the successful end of the run's session, once it is logged. */
async function endLine(fx: ReceiverFixture, runId: string): Promise<string | undefined> {
  await fx.sessionEnded(runId);
  return fx.logs.find((line) => line.includes(` run=${runId} role=backup reason=ok `));
}

describe('backups after a recovery that lost objects', () => {
  it('send again the unchanged file whose chunk was lost and reuse no directory digest from before, then reuse again', async () => {
    const host = newHost('lost-chunk');
    const source = await tempDir('berth-damage-source-');
    await makeSampleTree(source);
    const repositoryDir = join(await tempDir('berth-damage-repo-'), 'repo');
    const lost = Buffer.from('file 20\n'.repeat(21));

    let fx = await start(repositoryDir, host);
    expect((await backup(fx, host, source)).closeReason).toBeNull();
    const before = await backup(fx, host, source);
    expect(before.reusedDirs).toContain('/');
    await fx.stop();

    fx = await restartAfterDamage(repositoryDir, lost, host);
    try {
      expect(fx.repository.recovered).toEqual([expect.objectContaining({ damagedSpans: 1 })]);
      expect(fx.repository.damage).not.toBeNull();
      expect(fx.receiver.metrics().repositoryDamaged).toBe(1);
      // The digests recorded before were removed when the receiver started listening.
      expect(await readdir(join(repositoryDir, 'receiver-cache'))).toEqual([]);
      expect(fx.logs).toContain("removed directory digests recorded before the repository's last damaging recovery (dir-digests)");
      // The previous snapshot still stands, with a hole in it.
      expect(await fx.repository.subtreeStored(Buffer.from(before.done!.rootTree, 'hex'))).toBe(false);

      const runId = randomUUID();
      const after = await backup(fx, host, source, runId);
      expect(after.closeReason).toBeNull();
      // No digest recorded before the damage is trusted: every directory's entries cross the wire again.
      expect(after.reusedDirs).toEqual([]);
      // Of the unchanged files, only the one whose chunk was lost is sent again.
      expect(after.dataBytes).toBe(lost.length);
      await expectWhole(fx, after.done!.rootTree, source);
      expect(await endLine(fx, runId)).toContain(' filesLost=1 dirsLost=0 ');

      expect(await readdir(join(repositoryDir, 'receiver-cache'))).toEqual([`dir-digests-${fx.repository.damage!.id}`]);
      // That run recorded digests under the new state: the next one reuses the whole tree again.
      const next = await backup(fx, host, source);
      expect(next.reusedDirs).toContain('/');
      expect(next.done!.rootTree).toBe(after.done!.rootTree);
    } finally {
      await fx.stop();
    }
  });

  it('back up as new a directory whose tree in the previous snapshot was lost', async () => {
    const host = newHost('lost-tree');
    const source = await tempDir('berth-damage-source-');
    await makeSampleTree(source);
    const repositoryDir = join(await tempDir('berth-damage-repo-'), 'repo');

    let fx = await start(repositoryDir, host);
    const before = await backup(fx, host, source);
    expect(before.closeReason).toBeNull();
    await fx.stop();

// The tree of /home is damaged (the last record naming f20.txt: the trees of its committed chunks come first);
    // the root tree after it is kept.
    fx = await restartAfterDamage(repositoryDir, Buffer.from('f20.txt'), host);
    try {
      expect(fx.repository.recovered).toEqual([expect.objectContaining({ damagedSpans: 1, damaging: true })]);
      const runId = randomUUID();
      const after = await backup(fx, host, source, runId);
      expect(after.closeReason).toBeNull();
      // Below /home nothing could be compared with the previous snapshot: its files were all sent again.
      const homeBytes = 3 * 1024 * 1024 + 17 + 'dash'.length + Array.from({ length: 40 }, (_, i) => `file ${i}\n`.length * (i + 1)).reduce((a, b) => a + b, 0);
      expect(after.dataBytes).toBe(homeBytes + '127.0.0.1 localhost\n'.length);
      await expectWhole(fx, after.done!.rootTree, source);
      // /home and /home/alice were asked for; only the tree of /home could not be read.
      expect(await endLine(fx, runId)).toContain(' filesLost=0 dirsLost=1 ');
    } finally {
      await fx.stop();
    }
  });

  it('commit again a directory an earlier attempt committed when its stored subtree lost an object', async () => {
    const host = newHost('lost-commit');
    const source = await tempDir('berth-damage-source-');
    await makeSampleTree(source);
    const unique = Buffer.from(`only in /etc, ${randomUUID()}\n`.repeat(4));
    await writeFile(join(source, 'etc', 'unique'), unique);
    const repositoryDir = join(await tempDir('berth-damage-repo-'), 'repo');
    const runId = randomUUID();

    let fx = await start(repositoryDir, host);
    const first = await backup(fx, host, source, runId, { stopAfterDirs: 3 });
    expect(first.done).toBeNull();
    expect((await fx.repository.readJournal(runId)).map((record) => record.dir.toString())).toEqual(['/etc/app', '/etc', '/home/alice/empty-dir']);
    await fx.stop();

    fx = await restartAfterDamage(repositoryDir, unique, host);
    try {
      expect(fx.repository.damage).not.toBeNull();
      const second = await backup(fx, host, source, runId);
      // /etc lost its file's chunk: it is sent again; what else was committed still counts.
      expect(second.welcome!.committedDirs.map((dir) => dir.toString())).toEqual(['/etc/app', '/home/alice/empty-dir']);
      expect(second.done).not.toBeNull();
      await expectWhole(fx, second.done!.rootTree, source);
      expect(await endLine(fx, runId)).toContain(' filesLost=0 dirsLost=1 ');
    } finally {
      await fx.stop();
    }
  });

  it('send again, whole, a directory of which an earlier attempt committed chunks that lost an object', async () => {
    const host = newHost('lost-chunk-of-dir');
    const source = await tempDir('berth-damage-source-');
    await mkdir(join(source, 'big', 'sub'), { recursive: true });
    await writeFile(join(source, 'big', 'sub', 'x'), 'x');
    const contents = Array.from({ length: 49 }, (_, i) => Buffer.from(`chunked ${i} ${randomUUID()}\n`.repeat(3)));
    for (const [i, content] of contents.entries()) await writeFile(join(source, 'big', `f${String(i).padStart(2, '0')}`), content);
    const repositoryDir = join(await tempDir('berth-damage-repo-'), 'repo');
    const runId = randomUUID();

    let fx = await start(repositoryDir, host);
    // 50 entries in /big, 10 per chunk: the attempt stops once three of its chunks are committed.
    const first = await backup(fx, host, source, runId, { chunkEntries: 10, stopAfterPartialChunks: 3 });
    expect(first.done).toBeNull();
    expect((await fx.repository.readJournal(runId)).filter((record) => record.partialThrough !== undefined)).toHaveLength(3);
    await fx.stop();

// f15 is in the second committed chunk.
    fx = await restartAfterDamage(repositoryDir, contents[15]!, host);
    try {
      const second = await backup(fx, host, source, runId, { chunkEntries: 10 });
      expect(second.welcome!.committedDirs.map((dir) => dir.toString())).toEqual(['/big/sub']);
      // No resume inside /big: all of its 50 entries are sent again.
      expect(second.welcome!.resumeDirs).toEqual([]);
      expect(second.entriesSent.get('/big')).toBe(50);
      expect(second.done).not.toBeNull();
      await expectWhole(fx, second.done!.rootTree, source);
      expect(await endLine(fx, runId)).toContain(' dirsLost=1 ');
    } finally {
      await fx.stop();
    }
  });

  it('send a changed large file whole when a chunk of its stored version was lost (no delta against it)', async () => {
    const host = newHost('lost-basis');
    const source = await tempDir('berth-damage-source-');
    const chunk = (n: number): Buffer => Buffer.alloc(1024 * 1024, n);
    await writeFile(join(source, 'large.bin'), Buffer.concat([chunk(1), chunk(2), chunk(3)]));
    const repositoryDir = join(await tempDir('berth-damage-repo-'), 'repo');

    let fx = await start(repositoryDir, host);
    expect((await backup(fx, host, source)).closeReason).toBeNull();
    await fx.stop();

    const handle = await open(join(source, 'large.bin'), 'r+');
    await handle.write(Buffer.from('changed'), 0, 7, 2 * 1024 * 1024 + 100);
    await handle.close();
    fx = await restartAfterDamage(repositoryDir, chunk(2), host);
    try {
      const runId = randomUUID();
      const after = await backup(fx, host, source, runId);
      expect(after.closeReason).toBeNull();
      expect(after.plans.flatMap((plan) => plan.actions)).toContain(PlanAction.Whole);
      expect(after.plans.flatMap((plan) => plan.actions)).not.toContain(PlanAction.Delta);
      expect(after.deltaFiles).toBe(0);
      await expectWhole(fx, after.done!.rootTree, source);
      // Changed, so not counted as an unchanged file sent again.
      expect(await endLine(fx, runId)).not.toContain('filesLost=');
    } finally {
      await fx.stop();
    }
  });
});
