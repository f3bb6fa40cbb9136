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

const start = (repositoryDir: string): Promise<ReceiverFixture> => startReceiver({ heartbeatMs: 100, idleTimeoutMs: 5000 }, { repositoryDir });

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

describe('backups after a recovery that lost objects', () => {
  it('send again the unchanged file whose chunk was lost and reuse no directory digest from before, then reuse again', async () => {
    const host = { hostId: randomUUID(), hostName: 'lost-chunk', credential: 'cred-lost' };
    const source = await tempDir('berth-damage-source-');
    await makeSampleTree(source);
    const repositoryDir = join(await tempDir('berth-damage-repo-'), 'repo');
    const lost = Buffer.from('file 20\n'.repeat(21));

    let fx = await start(repositoryDir);
    fx.verifier.addHost(host);
    expect((await backup(fx, host, source)).closeReason).toBeNull();
    const before = await backup(fx, host, source);
    expect(before.reusedDirs).toContain('/');
    await fx.stop();

    await damageStoredContent(repositoryDir, lost);
    fx = await start(repositoryDir);
    try {
      fx.verifier.addHost(host);
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
      expect(await fx.repository.subtreeStored(Buffer.from(after.done!.rootTree, 'hex'))).toBe(true);
      expect(await viewSnapshot(fx.repository, after.done!.rootTree)).toEqual(await viewLocal(source));
      await fx.sessionEnded(runId);
      expect(fx.logs.find((line) => line.includes(` run=${runId} role=backup reason=ok `))).toContain(' filesLost=1 dirsLost=0 ');

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
    const host = { hostId: randomUUID(), hostName: 'lost-tree', credential: 'cred-tree' };
    const source = await tempDir('berth-damage-source-');
    await makeSampleTree(source);
    const repositoryDir = join(await tempDir('berth-damage-repo-'), 'repo');

    let fx = await start(repositoryDir);
    fx.verifier.addHost(host);
    const before = await backup(fx, host, source);
    expect(before.closeReason).toBeNull();
    await fx.stop();

    // The tree of /home is damaged (the last record naming f20.txt: the trees of its committed chunks come first);
    // the root tree after it is kept.
    await damageStoredContent(repositoryDir, Buffer.from('f20.txt'));
    fx = await start(repositoryDir);
    try {
      fx.verifier.addHost(host);
      expect(fx.repository.recovered).toEqual([expect.objectContaining({ damagedSpans: 1, damaging: true })]);
      const runId = randomUUID();
      const after = await backup(fx, host, source, runId);
      expect(after.closeReason).toBeNull();
      // Below /home nothing could be compared with the previous snapshot: its files were all sent again.
      const homeBytes = 3 * 1024 * 1024 + 17 + 'dash'.length + Array.from({ length: 40 }, (_, i) => `file ${i}\n`.length * (i + 1)).reduce((a, b) => a + b, 0);
      expect(after.dataBytes).toBe(homeBytes + '127.0.0.1 localhost\n'.length);
      expect(await fx.repository.subtreeStored(Buffer.from(after.done!.rootTree, 'hex'))).toBe(true);
      expect(await viewSnapshot(fx.repository, after.done!.rootTree)).toEqual(await viewLocal(source));
      await fx.sessionEnded(runId);
      // /home and /home/alice were asked for; only the tree of /home could not be read.
      expect(fx.logs.find((line) => line.includes(` run=${runId} role=backup reason=ok `))).toContain(' filesLost=0 dirsLost=1 ');
    } finally {
      await fx.stop();
    }
  });

  it('commit again a directory an earlier attempt committed when its stored subtree lost an object', async () => {
    const host = { hostId: randomUUID(), hostName: 'lost-commit', credential: 'cred-commit' };
    const source = await tempDir('berth-damage-source-');
    await makeSampleTree(source);
    const unique = Buffer.from(`only in /etc, ${randomUUID()}\n`.repeat(4));
    await writeFile(join(source, 'etc', 'unique'), unique);
    const repositoryDir = join(await tempDir('berth-damage-repo-'), 'repo');
    const runId = randomUUID();

    let fx = await start(repositoryDir);
    fx.verifier.addHost(host);
    const first = await backup(fx, host, source, runId, { stopAfterDirs: 3 });
    expect(first.done).toBeNull();
    expect((await fx.repository.readJournal(runId)).map((record) => record.dir.toString())).toEqual(['/etc/app', '/etc', '/home/alice/empty-dir']);
    await fx.stop();

    await damageStoredContent(repositoryDir, unique);
    fx = await start(repositoryDir);
    try {
      fx.verifier.addHost(host);
      expect(fx.repository.damage).not.toBeNull();
      const second = await backup(fx, host, source, runId);
      // /etc lost its file's chunk: it is sent again; what else was committed still counts.
      expect(second.welcome!.committedDirs.map((dir) => dir.toString())).toEqual(['/etc/app', '/home/alice/empty-dir']);
      expect(second.done).not.toBeNull();
      expect(await fx.repository.subtreeStored(Buffer.from(second.done!.rootTree, 'hex'))).toBe(true);
      expect(await viewSnapshot(fx.repository, second.done!.rootTree)).toEqual(await viewLocal(source));
      await fx.sessionEnded(runId);
      expect(fx.logs.find((line) => line.includes(` run=${runId} role=backup reason=ok `))).toContain(' filesLost=0 dirsLost=1 ');
    } finally {
      await fx.stop();
    }
  });

  it('send again, whole, a directory of which an earlier attempt committed chunks that lost an object', async () => {
    const host = { hostId: randomUUID(), hostName: 'lost-chunk-of-dir', credential: 'cred-part' };
    const source = await tempDir('berth-damage-source-');
    await mkdir(join(source, 'big', 'sub'), { recursive: true });
    await writeFile(join(source, 'big', 'sub', 'x'), 'x');
    const contents = Array.from({ length: 49 }, (_, i) => Buffer.from(`chunked ${i} ${randomUUID()}\n`.repeat(3)));
    for (const [i, content] of contents.entries()) await writeFile(join(source, 'big', `f${String(i).padStart(2, '0')}`), content);
    const repositoryDir = join(await tempDir('berth-damage-repo-'), 'repo');
    const runId = randomUUID();

    let fx = await start(repositoryDir);
    fx.verifier.addHost(host);
    // 50 entries in /big, 10 per chunk: the attempt stops once three of its chunks are committed.
    const first = await backup(fx, host, source, runId, { chunkEntries: 10, stopAfterPartialChunks: 3 });
    expect(first.done).toBeNull();
    expect((await fx.repository.readJournal(runId)).filter((record) => record.partialThrough !== undefined)).toHaveLength(3);
    await fx.stop();

    // f15 is in the second committed chunk.
    await damageStoredContent(repositoryDir, contents[15]!);
    fx = await start(repositoryDir);
    try {
      fx.verifier.addHost(host);
      const second = await backup(fx, host, source, runId, { chunkEntries: 10 });
      expect(second.welcome!.committedDirs.map((dir) => dir.toString())).toEqual(['/big/sub']);
      // No resume inside /big: all of its 50 entries are sent again.
      expect(second.welcome!.resumeDirs).toEqual([]);
      expect(second.entriesSent.get('/big')).toBe(50);
      expect(second.done).not.toBeNull();
      expect(await fx.repository.subtreeStored(Buffer.from(second.done!.rootTree, 'hex'))).toBe(true);
      expect(await viewSnapshot(fx.repository, second.done!.rootTree)).toEqual(await viewLocal(source));
      await fx.sessionEnded(runId);
      expect(fx.logs.find((line) => line.includes(` run=${runId} role=backup reason=ok `))).toContain(' dirsLost=1 ');
    } finally {
      await fx.stop();
    }
  });

  it('send a changed large file whole when a chunk of its stored version was lost (no delta against it)', async () => {
    const host = { hostId: randomUUID(), hostName: 'lost-basis', credential: 'cred-basis' };
    const source = await tempDir('berth-damage-source-');
    const chunk = (n: number): Buffer => Buffer.alloc(1024 * 1024, n);
    await writeFile(join(source, 'large.bin'), Buffer.concat([chunk(1), chunk(2), chunk(3)]));
    const repositoryDir = join(await tempDir('berth-damage-repo-'), 'repo');

    let fx = await start(repositoryDir);
    fx.verifier.addHost(host);
    expect((await backup(fx, host, source)).closeReason).toBeNull();
    await fx.stop();

    await damageStoredContent(repositoryDir, chunk(2));
    const handle = await open(join(source, 'large.bin'), 'r+');
    await handle.write(Buffer.from('changed'), 0, 7, 2 * 1024 * 1024 + 100);
    await handle.close();
    fx = await start(repositoryDir);
    try {
      fx.verifier.addHost(host);
      const runId = randomUUID();
      const after = await backup(fx, host, source, runId);
      expect(after.closeReason).toBeNull();
      expect(after.plans.flatMap((plan) => plan.actions)).toContain(PlanAction.Whole);
      expect(after.plans.flatMap((plan) => plan.actions)).not.toContain(PlanAction.Delta);
      expect(after.deltaFiles).toBe(0);
      expect(await fx.repository.subtreeStored(Buffer.from(after.done!.rootTree, 'hex'))).toBe(true);
      expect(await viewSnapshot(fx.repository, after.done!.rootTree)).toEqual(await viewLocal(source));
      await fx.sessionEnded(runId);
      // Changed, so not counted as an unchanged file sent again.
      expect(fx.logs.find((line) => line.includes(` run=${runId} role=backup reason=ok `))).not.toContain('filesLost=');
    } finally {
      await fx.stop();
    }
  });
});
