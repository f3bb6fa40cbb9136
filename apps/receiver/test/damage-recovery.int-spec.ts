import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

function backup(fx: ReceiverFixture, host: { hostId: string; credential: string }, root: string, runId = randomUUID(), extra: Pick<BackupOptions, 'stopAfterDirs'> = {}): Promise<BackupResult> {
  fx.verifier.addRun({ runId, hostId: host.hostId, kind: 'backup' });
  return runBackup({ port: fx.port, hostId: host.hostId, runId, credential: host.credential, root, chunkEntries: 16, digests: true, packed: true, ...extra });
}

/** What a disk fault plus a crash leave: the record holding `content` damaged, its pack's index gone. */
async function damageStoredContent(repositoryDir: string, content: Buffer): Promise<void> {
  for (const shard of await readdir(join(repositoryDir, 'packs'))) {
    for (const name of (await readdir(join(repositoryDir, 'packs', shard))).filter((n) => n.endsWith('.pack'))) {
      const path = join(repositoryDir, 'packs', shard, name);
      const bytes = await readFile(path);
      const at = bytes.indexOf(content);
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

      // That run recorded digests under the new state: the next one reuses the whole tree again.
      const next = await backup(fx, host, source);
      expect(next.reusedDirs).toContain('/');
      expect(next.done!.rootTree).toBe(after.done!.rootTree);
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
});
