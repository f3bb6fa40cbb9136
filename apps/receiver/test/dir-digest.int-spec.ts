import { DIR_DIGEST_PROTOCOL_VERSION, PREVIOUS_SNAPSHOT_PROTOCOL_VERSION } from '@berth/wire';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { viewLocal, viewSnapshot } from './support/compare';
import { startReceiver, type ReceiverFixture } from './support/receiver-fixture';
import { makeSampleTree } from './support/sample-tree';
import { runBackup, type BackupOptions, type BackupResult } from './support/test-agent';

const host = { hostId: randomUUID(), hostName: 'digests', credential: 'cred-d' };
const otherHost = { hostId: randomUUID(), hostName: 'other', credential: 'cred-o' };

let fx: ReceiverFixture;
let source: string;

beforeAll(async () => {
  fx = await startReceiver({ heartbeatMs: 100, idleTimeoutMs: 5000 });
  fx.verifier.addHost(host).addHost(otherHost);
  source = await mkdtemp(join(tmpdir(), 'berth-digest-'));
  await makeSampleTree(source);
});

afterAll(async () => {
  await fx.stop();
  await rm(source, { recursive: true, force: true });
});

function backup(as: typeof host = host, extra: Pick<BackupOptions, 'digests' | 'packed' | 'protocol' | 'stopAfterDirs' | 'topDown'> = { digests: true, packed: true }): Promise<BackupResult> {
  const runId = randomUUID();
  fx.verifier.addRun({ runId, hostId: as.hostId, kind: 'backup' });
  return runBackup({ port: fx.port, hostId: as.hostId, runId, credential: as.credential, root: source, chunkEntries: 16, ...extra });
}

const entriesSent = (result: BackupResult): number => [...result.entriesSent.values()].reduce((a, b) => a + b, 0);

describe('directory digests and packed chunks', () => {
  let first: BackupResult;

  it('stores a first backup sent in packed chunks, every digest a miss', async () => {
    first = await backup();
    expect(first.closeReason).toBeNull();
    // Welcome told the agent that no digest can match (a real agent then sends none).
    expect(first.welcome?.previousSnapshot).toBe(false);
    expect(first.reusedDirs).toEqual([]);
    expect(await viewSnapshot(fx.repository, first.done!.rootTree)).toEqual(await viewLocal(source));
  });

  it('reuses the whole unchanged tree from the root digest: one message, no entries, the same root tree and counts', async () => {
    const second = await backup();
    expect(second.closeReason).toBeNull();
    expect(second.welcome?.previousSnapshot).toBe(true);
    // This test agent probes every directory (the real one too); each is reused, the root last.
    expect(second.reusedDirs).toEqual(['/etc/app', '/etc', '/home/alice/empty-dir', '/home/alice', '/home', '/']);
    expect(entriesSent(second)).toBe(0);
    expect(second.done!.rootTree).toBe(first.done!.rootTree);
    expect(second.done!.stats).toMatchObject({ files: first.done!.stats.files, dirs: first.done!.stats.dirs, bytes: first.done!.stats.bytes });
  });

  it('after a change deep down, reuses the untouched siblings and sends only the changed directory and its ancestors', async () => {
    await writeFile(join(source, 'etc', 'app', 'config.json'), JSON.stringify({ a: 2 }));
    const third = await backup();
    expect(third.closeReason).toBeNull();
    expect(third.reusedDirs).toEqual(['/home/alice/empty-dir', '/home/alice', '/home']);
    expect([...third.entriesSent.keys()].sort()).toEqual(['/', '/etc', '/etc/app']);
    expect(await viewSnapshot(fx.repository, third.done!.rootTree)).toEqual(await viewLocal(source));
    // The digests of the directories sent, whose unchanged entries were carried over as stored, are the agent's:
    // the next backup reuses the whole tree from the root.
    const unchanged = await backup();
    expect(unchanged.reusedDirs).toContain('/');
    expect(entriesSent(unchanged)).toBe(0);
    expect(unchanged.done!.rootTree).toBe(third.done!.rootTree);
  });

  it('finds a renamed directory by its digest', async () => {
    await rename(join(source, 'home', 'alice'), join(source, 'home', 'bob'));
    const fourth = await backup();
    expect(fourth.closeReason).toBeNull();
    expect(fourth.reusedDirs).toContain('/home/bob');
    expect(fourth.entriesSent.has('/home/bob')).toBe(false);
    expect(await viewSnapshot(fx.repository, fourth.done!.rootTree)).toEqual(await viewLocal(source));
  });

  it("never reuses another host's trees, however equal the digests", async () => {
    const other = await backup(otherHost);
    expect(other.closeReason).toBeNull();
    expect(other.reusedDirs).toEqual([]);
    expect(await viewSnapshot(fx.repository, other.done!.rootTree)).toEqual(await viewLocal(source));
  });

  it('falls back to sending entries when the index file is damaged', async () => {
    const dir = join(fx.repository.root, 'receiver-cache', 'dir-digests');
    expect(await readdir(dir)).toContain(host.hostId);
    await writeFile(join(dir, host.hostId), 'not an index');
    const fifth = await backup();
    expect(fifth.closeReason).toBeNull();
    expect(fifth.reusedDirs).toEqual([]);
    expect(await viewSnapshot(fx.repository, fifth.done!.rootTree)).toEqual(await viewLocal(source));
    // ...and the run wrote a fresh index: the next one reuses everything again.
    const sixth = await backup();
    expect(sixth.reusedDirs).toContain('/');
    expect(sixth.done!.rootTree).toBe(fifth.done!.rootTree);
  });

  it('keeps the digests below a directory reused whole, so a later change deep down still reuses the untouched siblings', async () => {
    const topHost = { hostId: randomUUID(), hostName: 'top-down', credential: 'cred-t' };
    fx.verifier.addHost(topHost);
    const topDown = { digests: true, packed: true, topDown: true };
    const first = await backup(topHost, topDown);
    expect(first.closeReason).toBeNull();
    expect(first.reusedDirs).toEqual([]);
    // Unchanged: one probe of "/" stands for the whole tree, and the index keeps every directory below it.
    const second = await backup(topHost, topDown);
    expect(second.reusedDirs).toEqual(['/']);
    expect(entriesSent(second)).toBe(0);
    await writeFile(join(source, 'etc', 'app', 'config.json'), JSON.stringify({ a: 3 }));
    const third = await backup(topHost, topDown);
    expect(third.closeReason).toBeNull();
    expect(third.reusedDirs).toEqual(['/home']);
    expect([...third.entriesSent.keys()].sort()).toEqual(['/', '/etc', '/etc/app']);
    expect(await viewSnapshot(fx.repository, third.done!.rootTree)).toEqual(await viewLocal(source));
  });

  it('tells only v6 agents whether it holds a previous snapshot', async () => {
    const v5 = await backup(host, { digests: true, packed: true, protocol: PREVIOUS_SNAPSHOT_PROTOCOL_VERSION - 1 });
    expect(v5.closeReason).toBeNull();
    expect(v5.welcome?.previousSnapshot).toBeNull();
    expect(v5.reusedDirs).toContain('/home');
  });

  it('refuses DirDigest and PackedChunk from an agent of an earlier protocol', async () => {
    const digests = await backup(host, { digests: true, protocol: DIR_DIGEST_PROTOCOL_VERSION - 1 });
    expect(digests.closeReason?.message).toMatch(/DirDigest needs protocol/);
    const packed = await backup(host, { packed: true, protocol: DIR_DIGEST_PROTOCOL_VERSION - 1 });
    expect(packed.closeReason?.message).toMatch(/PackedChunk needs protocol/);
  });
});
