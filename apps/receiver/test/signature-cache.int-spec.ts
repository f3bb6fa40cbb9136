import { alignedBlockLength, ContentHasher, encodeSignature, MAX_STRONG_LENGTH, signature } from '@berth/delta';
import { type ObjectId, type ReadOptions, Repository } from '@berth/repository';
import { PlanAction } from '@berth/wire';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignatureCache } from '../src/backup/signature-cache';
import { startReceiver, type ReceiverFixture } from './support/receiver-fixture';
import { damageOnDisk, overwrite, replaceMethod } from './support/repository-faults';
import { runBackup, type BackupOptions, type BackupResult } from './support/test-agent';
import { waitFor } from './support/wait-for';

const MiB = 1024 * 1024;
const SIZE = 12 * MiB + 5000;
const host = { hostId: randomUUID(), hostName: 'kept', credential: 'cred-kept' };

/** The content hash (protocol 7): the SHA-256 of up to one chunk, the chunk-list hash beyond. */
const contentHash = (data: Buffer): Buffer => new ContentHasher().update(data).digest();

/** A backup of `root` by `host`, and its session's end line (written once the session's signature writes are done). */
async function backupWithLine(fx: ReceiverFixture, root: string, options: Partial<BackupOptions> = {}): Promise<BackupResult & { line: string }> {
  const runId = randomUUID();
  fx.verifier.addRun({ runId, hostId: host.hostId, kind: 'backup' });
  const result = await runBackup({ port: fx.port, hostId: host.hostId, runId, credential: host.credential, root, ...options });
  const isEnd = (l: string): boolean => l.includes(' end ') && l.includes(`run=${runId}`);
  await waitFor(() => fx.logs.some(isEnd), 'the session to end');
  return { ...result, line: fx.logs.find(isEnd) as string };
}

function deltas(result: BackupResult): number {
  return result.plans.reduce((n, p) => n + p.actions.filter((a) => a === PlanAction.Delta).length, 0);
}

describe('signatures of large files kept beside the repository', () => {
  let fx: ReceiverFixture;
  let source: string;
  let file: string;
  let cache: SignatureCache;
  const block = alignedBlockLength(SIZE);

  beforeAll(async () => {
    fx = await startReceiver({ heartbeatMs: 200, idleTimeoutMs: 10_000, signatureCacheMinBytes: 4 * MiB });
    fx.verifier.addHost(host);
    cache = new SignatureCache(fx.repository.root);
    source = await mkdtemp(join(tmpdir(), 'berth-kept-signature-'));
    file = join(source, 'disk.img');
    await writeFile(file, randomBytes(SIZE));
    await writeFile(join(source, 'small.txt'), 'small\n');
  });

  afterAll(async () => {
    await fx.stop();
    await rm(source, { recursive: true, force: true });
  });

  async function backup(): Promise<BackupResult & { line: string }> {
    const result = await backupWithLine(fx, source, { dataFrameBytes: MiB });
    expect(result.closeReason).toBeNull();
    return result;
  }

  /** The snapshot's entry for the file equals the file now, read back verified. */
  async function expectStoredRight(result: BackupResult): Promise<void> {
    const entry = await fx.repository.resolvePath(Buffer.from(result.done!.rootTree, 'hex'), Buffer.from('/disk.img'));
    const hash = new ContentHasher();
    for await (const piece of fx.repository.readFileContent(entry!.content!)) hash.update(piece);
    const now = contentHash(await readFile(file));
    expect(entry!.content!.sha256).toEqual(now);
    expect(hash.digest()).toEqual(now);
  }

  async function keptFor(content: Buffer): Promise<Buffer | null> {
    const kept = await cache.load(contentHash(content), block);
    return kept === null ? null : encodeSignature(kept);
  }

  async function signatureOf(content: Buffer): Promise<Buffer> {
    return encodeSignature(await signature(content, { blockLength: block, strongLength: MAX_STRONG_LENGTH }));
  }

  it('keeps the signature of a large file stored whole, and of each new version a delta rebuilds, dropping the old one', async () => {
    const first = await backup();
    const v1 = await readFile(file);
    expect(await keptFor(v1)).toEqual(await signatureOf(v1));

    await overwrite(file, 5 * MiB + 777, 4096);
    const second = await backup();
    expect(deltas(second)).toBe(1);
    expect(second.resends).toBe(0);
    expect(second.dataBytes).toBeLessThan(64 * 1024);
    expect(second.line).toContain('signaturesKept=1');
    await expectStoredRight(second);
    const v2 = await readFile(file);
    // Assembled from v1's blocks for the 11 unchanged chunks and signed for the edited one: the same as signing v2.
    expect(await keptFor(v2)).toEqual(await signatureOf(v2));
    expect(await keptFor(v1)).toBeNull();

    await overwrite(file, 11 * MiB, 100);
    const third = await backup();
    expect(deltas(third)).toBe(1);
    expect(third.resends).toBe(0);
    expect(third.line).toContain('signaturesKept=1');
    await expectStoredRight(third);
    expect(first.done).not.toBeNull();
  });

  it('signs the basis from the repository when its kept signature is torn, and keeps the new version', async () => {
    const before = await readFile(file);
    const [name] = (await readdir(cache.dir)).filter((n) => n.startsWith(contentHash(before).toString('hex')));
    await writeFile(join(cache.dir, name!), (await readFile(join(cache.dir, name!))).subarray(0, 1000));
    await overwrite(file, 2 * MiB, 4096);
    const result = await backup();
    expect(deltas(result)).toBe(1);
    expect(result.resends).toBe(0);
    expect(result.line).toContain('signaturesKept=0');
    await expectStoredRight(result);
    const now = await readFile(file);
    expect(await keptFor(now)).toEqual(await signatureOf(now));
  });

  it('costs only a resend when a kept signature does not describe its basis: the file is stored right', async () => {
    const before = await readFile(file);
    await overwrite(file, 7 * MiB, 4096);
    const now = await readFile(file);
    // The basis's entry now describes the new version: the agent matches every block, the rebuild copies the basis's.
    await cache.save(contentHash(before), await signature(now, { blockLength: block, strongLength: MAX_STRONG_LENGTH }));
    const result = await backup();
    expect(deltas(result)).toBe(1);
    expect(result.resends).toBe(1);
    expect(result.line).toContain('deltaRetries=1');
    await expectStoredRight(result);
  });
});

describe('a delta rebuilt behind the message loop', () => {
  let fx: ReceiverFixture;
  let source: string;
  /** Unverified reads of blobs (the rebuild's reads of its basis: the signature is kept), and a delay for each. */
  let basisReads = 0;
  let readDelayMs = 0;

  beforeAll(async () => {
    fx = await startReceiver(
      { heartbeatMs: 200, idleTimeoutMs: 10_000, signatureCacheMinBytes: 4 * MiB },
      {
        wrap: (repository) =>
          replaceMethod(repository, 'readBlob', (readBlob) => async (id: ObjectId, options?: ReadOptions): Promise<Buffer> => {
            if (options?.verify === false) {
              await new Promise((resolve) => setTimeout(resolve, readDelayMs));
              basisReads += 1;
            }
            return readBlob(id, options);
          }),
      },
    );
    fx.verifier.addHost(host);
    source = await mkdtemp(join(tmpdir(), 'berth-rebuild-behind-'));
    await writeFile(join(source, 'disk.img'), randomBytes(SIZE));
  });

  afterAll(async () => {
    await fx.stop();
    await rm(source, { recursive: true, force: true });
  });

  it('answers the messages that follow a delta while its basis is still being read, and stores the file right', async () => {
    // Its session has ended (its signatures are written): the second delta's is kept.
    expect((await backupWithLine(fx, source)).done).not.toBeNull();
    // A byte inserted at the start shifts every chunk: none is copied whole in place (which is not read at all), so
    // the rebuild reads every chunk it copies from.
    const disk = join(source, 'disk.img');
    await writeFile(disk, Buffer.concat([Buffer.from('x'), await readFile(disk)]));
    basisReads = 0;
    readDelayMs = 40;
    let readsWhenAnswered = -1;
    const second = await backupWithLine(fx, source, {
      duringDelta: async (probe) => {
        expect(await probe()).toBe(false);
        readsWhenAnswered = basisReads;
      },
    });
    expect(second.closeReason).toBeNull();
    expect(deltas(second)).toBe(1);
    // The rebuild reads the 12 chunks it copies from at 40 ms each: the answer came before it was done, where a
    // session applying each frame before the next message answers after all of them.
    expect(basisReads).toBeGreaterThanOrEqual(12);
    expect(readsWhenAnswered).toBeGreaterThanOrEqual(0);
    expect(readsWhenAnswered).toBeLessThan(basisReads);
    expect(second.line).toContain('signaturesKept=1');
    const entry = await fx.repository.resolvePath(Buffer.from(second.done!.rootTree, 'hex'), Buffer.from('/disk.img'));
    expect(entry!.content!.sha256).toEqual(contentHash(await readFile(join(source, 'disk.img'))));
    expect((await fx.repository.verifySnapshot(second.done!.snapshotId)).problems).toEqual([]);
  });
});

describe('kept signatures and a repository that fails or is damaged', () => {
  let fx: ReceiverFixture;
  let source: string;
  let failPuts = false;

  beforeAll(async () => {
    // A small byte window: a rebuild that stops applying frames stops giving credit back, and the agent waits.
    fx = await startReceiver(
      { heartbeatMs: 200, idleTimeoutMs: 10_000, signatureCacheMinBytes: 4 * MiB, creditBytes: 2 * MiB },
      {
        wrap: (repository) =>
          replaceMethod(repository, 'putBlob', (putBlob) => (data: Buffer) => (failPuts ? Promise.reject(new Error('injected: the disk is full')) : putBlob(data))),
      },
    );
    fx.verifier.addHost(host);
    source = await mkdtemp(join(tmpdir(), 'berth-kept-faults-'));
  });

  afterAll(async () => {
    await fx.stop();
    await rm(source, { recursive: true, force: true });
  });

  const backup = (): Promise<BackupResult & { line: string }> => backupWithLine(fx, source);

  it('ends the session, instead of waiting, when storing a rebuilt chunk fails behind the message loop', async () => {
    const file = join(source, 'fail.img');
    await writeFile(file, randomBytes(8 * MiB));
    expect((await backup()).closeReason).toBeNull();
    // Most of the file changes: its delta is mostly literal data, whose new chunks the repository refuses to store.
    await overwrite(file, 0, 7 * MiB);
    failPuts = true;
    try {
      const result = await backup();
      expect(result.closeReason).not.toBeNull();
      expect(result.line).toContain('injected: the disk is full');
    } finally {
      failPuts = false;
    }
    await rm(file);
  });

  it('takes a chunk copied whole in place by its id, unread: damage to it on disk is for verification to find', async () => {
    const file = join(source, 'rotten.img');
    const original = randomBytes(8 * MiB);
    await writeFile(file, original);
    expect((await backup()).closeReason).toBeNull();
    // Chunk 2 rots on disk; the file changes in chunk 6 only. The rebuild names chunk 2 by its stored id without
    // reading it (the content hash is a hash of the ids): the backup is right and fast, and does not see the damage.
    expect(await damageOnDisk(fx.repository.root, original.subarray(2 * MiB + 100, 2 * MiB + 164))).toBe(true);
    await overwrite(file, 6 * MiB + 1000, 4096);
    const second = await backup();
    expect(second.closeReason).toBeNull();
    expect(deltas(second)).toBe(1);
    expect(second.resends).toBe(0);
    expect(second.line).toContain('deltaRetries=0 signatureFailures=0');
    const entry = await fx.repository.resolvePath(Buffer.from(second.done!.rootTree, 'hex'), Buffer.from('/rotten.img'));
    expect(entry!.content!.sha256).toEqual(contentHash(await readFile(file)));
    expect(entry!.content!.chunks[2]).toEqual(contentHash(original.subarray(2 * MiB, 3 * MiB)));
    // Verification reads every chunk back against its id and reports the damaged one.
    const problems = (await fx.repository.verifySnapshot(second.done!.snapshotId)).problems;
    expect(problems.some((problem) => problem.includes('rotten.img') && problem.includes(entry!.content!.chunks[2]!.toString('hex')))).toBe(true);
    await rm(file);
  });

  it('does not keep a signature of good bytes for a chunk damaged on disk: one resend, then deltas again', async () => {
    const file = join(source, 'damaged.img');
    const original = randomBytes(8 * MiB);
    await writeFile(file, original);
    expect((await backup()).closeReason).toBeNull();
    // Chunk 6 is damaged on disk in its middle and stays as it was; the file changes near chunk 6's start. The kept
    // signature describes the good bytes: the agent matches chunk 6's later blocks, the rebuild reads the damaged
    // bytes (a chunk copied from in part is read; one copied whole in place is not), and the file is sent again whole.
    expect(await damageOnDisk(fx.repository.root, original.subarray(6 * MiB + 512 * 1024, 6 * MiB + 512 * 1024 + 64))).toBe(true);
    await overwrite(file, 6 * MiB + 1000, 4096);
    const second = await backup();
    expect(second.closeReason).toBeNull();
    expect(second.resends).toBe(1);
    expect(second.line).toContain('deltaRetries=1 signatureFailures=1');
    // The resend shares the damaged blob (one copy per id): its signature is not kept, so the next delta signs it as
    // it reads, and the damaged block goes as data instead of failing the rebuild again.
    await overwrite(file, 6 * MiB + 9000, 4096);
    const third = await backup();
    expect(third.closeReason).toBeNull();
    expect(deltas(third)).toBe(1);
    expect(third.resends).toBe(0);
    expect(third.line).toContain('deltaRetries=0');
    expect(third.line).toContain('signaturesKept=0');
    const entry = await fx.repository.resolvePath(Buffer.from(third.done!.rootTree, 'hex'), Buffer.from('/damaged.img'));
    expect(entry!.content!.sha256).toEqual(contentHash(await readFile(file)));
  });
});

describe('the receiver keeps its kept signatures within their limits', () => {
  it('removes, once it listens, entries unused for 30 days, then the least recently used beyond its byte limit', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-kept-prune-'));
    const repositoryDir = join(dir, 'repo');
    await (await Repository.open(repositoryDir)).close();
    const cache = new SignatureCache(repositoryDir);
    const names: string[] = [];
    for (let i = 0; i < 5; i++) {
      const content = randomBytes(256 * 1024);
      await cache.save(contentHash(content), await signature(content, { blockLength: 1024, strongLength: MAX_STRONG_LENGTH }));
      const name = `${contentHash(content).toString('hex')}-1024`;
      // Entry 0 was used 40 days ago, entry i > 0 i hours ago.
      const used = new Date(Date.now() - (i === 0 ? 40 * 86_400_000 : i * 3_600_000));
      await utimes(join(cache.dir, name), used, used);
      names.push(name);
    }
    const entryBytes = (await stat(join(cache.dir, names[1]!))).size;
    const fx = await startReceiver({ signatureCacheMaxBytes: 2 * entryBytes }, { repositoryDir });
    try {
      await waitFor(() => fx.logs.some((line) => line.includes('least recently used kept signatures')), 'the prune at start');
      expect(fx.logs).toContain('removed 1 kept signatures of large files unused for 30 days');
      expect(fx.logs).toContain(`removed 2 least recently used kept signatures of large files: ${2 * entryBytes} bytes kept, at most ${2 * entryBytes}`);
      expect((await readdir(cache.dir)).sort()).toEqual([names[1]!, names[2]!].sort());
    } finally {
      await fx.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
