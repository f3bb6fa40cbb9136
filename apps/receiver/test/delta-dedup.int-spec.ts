import { RepositoryCorruptError, type ObjectId, type ReadOptions, type RepositoryApi } from '@berth/repository';
import { EntryType, MessageType, PlanAction, encodeMessage, type EntryMeta } from '@berth/wire';
import { chunkListHash, ContentHasher } from '@berth/delta';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RawClient } from './support/frames';
import { startReceiver, type ReceiverFixture } from './support/receiver-fixture';
import { damageOnDisk as damageInPacks, overwrite, replaceMethod } from './support/repository-faults';
import { runRestore } from './support/restore-client';
import { runBackup, type BackupResult } from './support/test-agent';
import { waitFor } from './support/wait-for';

const MiB = 1024 * 1024;
const BIG = 64 * MiB;
const hostA = { hostId: randomUUID(), hostName: 'alpha', credential: 'cred-a' };
const hostB = { hostId: randomUUID(), hostName: 'beta', credential: 'cred-b' };
const hostC = { hostId: randomUUID(), hostName: 'gamma', credential: 'cred-c' };

function sha256(data: Buffer): Buffer {
  return createHash('sha256').update(data).digest();
}

/** The content hash (protocol 7): the SHA-256 of up to one chunk, the chunk-list hash beyond. */
function contentHash(data: Buffer): Buffer {
  return new ContentHasher().update(data).digest();
}

function actionsOf(result: BackupResult, action: PlanAction): number {
  return result.plans.reduce((n, p) => n + p.actions.filter((a) => a === action).length, 0);
}

/** The stored content of `/name` in the snapshot, read back chunk by chunk (each chunk verified), hashed. */
async function storedContentHash(repo: RepositoryApi, rootTree: string, name: string): Promise<{ recorded: Buffer; actual: Buffer }> {
  const entry = await repo.resolvePath(Buffer.from(rootTree, 'hex'), Buffer.from(`/${name}`));
  if (entry?.content === null || entry === null) throw new Error(`${name} is not a stored file`);
  const hash = new ContentHasher();
  for await (const piece of repo.readFileContent(entry.content)) hash.update(piece);
  return { recorded: entry.content.sha256, actual: hash.digest() };
}

describe('delta transfer and dedup before data', () => {
  let fx: ReceiverFixture;
  let source: string;
  let big: string;

  beforeAll(async () => {
    fx = await startReceiver({ heartbeatMs: 200, idleTimeoutMs: 10_000 });
    fx.verifier.addHost(hostA).addHost(hostB);
    source = await mkdtemp(join(tmpdir(), 'berth-delta-'));
    big = join(source, 'big.bin');
    await writeFile(big, randomBytes(BIG));
    await writeFile(join(source, 'small.txt'), 'small\n');
  });

  afterAll(async () => {
    await fx.stop();
    await rm(source, { recursive: true, force: true });
  });

  function backup(host: typeof hostA, root: string, extra: { offerMinBytes?: number; lyingDelta?: boolean; protocol?: number } = {}): Promise<BackupResult> {
    const runId = randomUUID();
    fx.verifier.addRun({ runId, hostId: host.hostId, kind: 'backup' });
    return runBackup({ port: fx.port, hostId: host.hostId, runId, credential: host.credential, root, dataFrameBytes: MiB, ...extra });
  }

  it('sends a 4 KiB overwrite in the middle of a 64 MiB file as a delta of a few KiB', async () => {
    const first = await backup(hostA, source);
    expect(first.done).not.toBeNull();
    expect(first.dataBytes).toBeGreaterThanOrEqual(BIG);

    await overwrite(big, BIG / 2 + 123, 4096);
    const second = await backup(hostA, source);
    expect(second.closeReason).toBeNull();
    expect(actionsOf(second, PlanAction.Delta)).toBe(1);
    expect(second.resends).toBe(0);
    // Literal 4 KiB plus the two blocks it touches (8 KiB each at this size) and the token stream.
    expect(second.dataBytes).toBeLessThan(32 * 1024);
    expect(second.wireBytesOut).toBeLessThan(48 * 1024);
    // The signature back: 8,192 blocks of 4 + 9 bytes.
    expect(second.wireBytesIn).toBeLessThan(160 * 1024);
    const stored = await storedContentHash(fx.repository, second.done!.rootTree, 'big.bin');
    expect(stored.recorded).toEqual(contentHash(await readFile(big)));
    expect(stored.actual).toEqual(stored.recorded);
    expect((await fx.repository.verifySnapshot(second.done!.snapshotId)).problems).toEqual([]);
    await waitFor(() => fx.logs.some((l) => l.includes('deltaFiles=1 deltaRetries=0')), 'the session to end with one delta');
    // v8: the signature came with the ids of the previous version's 64 chunks, as stored.
    const previous = await fx.repository.resolvePath(Buffer.from(first.done!.rootTree, 'hex'), Buffer.from('/big.bin'));
    expect([...second.basisChunks.values()]).toEqual([Buffer.concat(previous?.content?.chunks ?? [])]);
    expect(second.basisChunks.values().next().value?.length).toBe(64 * 32);
  });

  it('sends basis chunk ids with a signature only to a protocol 8 agent', async () => {
    await overwrite(big, 3 * MiB + 77, 4096);
    const v7 = await backup(hostA, source, { protocol: 7 });
    expect(v7.closeReason).toBeNull();
    expect(actionsOf(v7, PlanAction.Delta)).toBe(1);
    expect(v7.basisChunks.size).toBe(0);
    expect(v7.resends).toBe(0);
    expect((await storedContentHash(fx.repository, v7.done!.rootTree, 'big.bin')).recorded).toEqual(contentHash(await readFile(big)));
  });

  it('asks again for the whole file when the delta does not rebuild it, and stores the right content', async () => {
    await overwrite(big, 5 * MiB, 4096);
    const result = await backup(hostA, source, { lyingDelta: true });
    expect(result.closeReason).toBeNull();
    expect(actionsOf(result, PlanAction.Delta)).toBe(1);
    expect(result.resends).toBe(1);
    const stored = await storedContentHash(fx.repository, result.done!.rootTree, 'big.bin');
    expect(stored.recorded).toEqual(contentHash(await readFile(big)));
    expect(stored.actual).toEqual(stored.recorded);
    await waitFor(() => fx.logs.some((l) => l.includes('deltaFiles=1 deltaRetries=1')), 'the session to end with one delta retried');
  });

  it('asks a protocol 1 agent for the whole file, as before', async () => {
    await overwrite(big, 7 * MiB, 4096);
    const result = await backup(hostA, source, { protocol: 1 });
    expect(result.closeReason).toBeNull();
    expect(actionsOf(result, PlanAction.Delta)).toBe(0);
    expect(actionsOf(result, PlanAction.Whole)).toBe(1);
    expect(result.dataBytes).toBe(BIG);
    expect((await storedContentHash(fx.repository, result.done!.rootTree, 'big.bin')).actual).toEqual(contentHash(await readFile(big)));
  });

  it("names a protocol 6 agent's content by the SHA-256 of its bytes, and mixes it with newer agents' content", async () => {
    // A protocol 6 agent: its delta ends with a SHA-256, and the rebuilt file is named by it.
    await overwrite(big, 9 * MiB + 10, 4096);
    const legacy = await backup(hostA, source, { protocol: 6 });
    expect(legacy.closeReason).toBeNull();
    expect(actionsOf(legacy, PlanAction.Delta)).toBe(1);
    expect(legacy.resends).toBe(0);
    const legacyStored = await storedContentHash(fx.repository, legacy.done!.rootTree, 'big.bin');
    const bytes = await readFile(big);
    expect(legacyStored.recorded).toEqual(sha256(bytes));
    expect(legacyStored.actual).toEqual(contentHash(bytes));
    expect((await fx.repository.verifySnapshot(legacy.done!.snapshotId)).problems).toEqual([]);

    // A restore names it by the hash each agent checks: the content hash for protocol 7, the SHA-256 for 6
    // (runRestore fails on a mismatch).
    for (const protocol of [7, 6]) {
      const runId = randomUUID();
      fx.verifier.addRun({ runId, hostId: hostA.hostId, kind: 'restore', restore: { snapshotId: legacy.done!.snapshotId, sourceHostId: hostA.hostId, subPath: null } });
      const restored = await runRestore({ port: fx.port, hostId: hostA.hostId, runId, credential: hostA.credential, snapshotId: legacy.done!.snapshotId, protocol });
      expect(restored.closeReason).toBeNull();
      expect(restored.entries.find((e) => e.path === 'big.bin')?.content?.equals(bytes)).toBe(true);
    }

    // A newer agent's delta against that basis: named by the content hash.
    await overwrite(big, 11 * MiB + 10, 4096);
    const next = await backup(hostA, source, { protocol: 7 });
    expect(next.closeReason).toBeNull();
    expect(actionsOf(next, PlanAction.Delta)).toBe(1);
    expect(next.resends).toBe(0);
    const nextStored = await storedContentHash(fx.repository, next.done!.rootTree, 'big.bin');
    expect(nextStored.recorded).toEqual(contentHash(await readFile(big)));
    expect((await fx.repository.verifySnapshot(next.done!.snapshotId)).problems).toEqual([]);
    // A protocol 6 agent restoring it is sent the SHA-256 of its bytes (runRestore checks it).
    const legacyRestore = randomUUID();
    fx.verifier.addRun({ runId: legacyRestore, hostId: hostA.hostId, kind: 'restore', restore: { snapshotId: next.done!.snapshotId, sourceHostId: hostA.hostId, subPath: null } });
    const restoredNext = await runRestore({ port: fx.port, hostId: hostA.hostId, runId: legacyRestore, credential: hostA.credential, snapshotId: next.done!.snapshotId, protocol: 6 });
    expect(restoredNext.closeReason).toBeNull();
    expect(restoredNext.entries.find((e) => e.path === 'big.bin')?.sha256).toEqual(sha256(await readFile(big)));

    // A protocol 6 agent offering that content by its SHA-256 finds it (read back and hashed whole).
    const copy = await mkdtemp(join(tmpdir(), 'berth-dedup-legacy-'));
    try {
      await writeFile(join(copy, 'same.bin'), await readFile(big));
      fx.verifier.addHost(hostC);
      const offered = await backup(hostC, copy, { offerMinBytes: MiB, protocol: 6 });
      expect(offered.closeReason).toBeNull();
      expect(offered.offersKnown).toBe(1);
      expect(offered.dataBytes).toBe(0);
    } finally {
      await rm(copy, { recursive: true, force: true });
    }
  });

  it('does not send a large file another host already stored (dedup before data)', async () => {
    const copy = await mkdtemp(join(tmpdir(), 'berth-dedup-'));
    try {
      await writeFile(join(copy, 'same.bin'), await readFile(big));
      const result = await backup(hostB, copy, { offerMinBytes: MiB });
      expect(result.closeReason).toBeNull();
      expect(actionsOf(result, PlanAction.Whole)).toBe(1);
      expect(result.offersKnown).toBe(1);
      expect(result.dataBytes).toBe(0);
      expect(result.wireBytesOut).toBeLessThan(16 * 1024);
      const stored = await storedContentHash(fx.repository, result.done!.rootTree, 'same.bin');
      expect(stored.actual).toEqual(contentHash(await readFile(big)));

      // Content the repository does not have is sent as usual after the offer.
      await writeFile(join(copy, 'other.bin'), randomBytes(2 * MiB + 5));
      const next = await backup(hostB, copy, { offerMinBytes: MiB });
      expect(next.offersKnown).toBe(0);
      expect(next.dataBytes).toBe(2 * MiB + 5);
      expect((await storedContentHash(fx.repository, next.done!.rootTree, 'other.bin')).actual).toEqual(contentHash(await readFile(join(copy, 'other.bin'))));
    } finally {
      await rm(copy, { recursive: true, force: true });
    }
  });
});

describe('delta against a damaged basis', () => {
  let fx: ReceiverFixture;
  let source: string;
  /** Chunk of the basis that the injected fault damages from its second unverified read on (the patch's). */
  let damaged: ObjectId | null = null;
  let damagedReads = 0;
  /** Whether a verified read of the damaged chunk fails too (damage that stays), or gives good data (a transient fault). */
  let verifiedFails = false;

  beforeAll(async () => {
    // Injected fault: one chunk reads right the first time (the signature pass) and with a flipped byte after that
    // (the patch, which reads the chunk an edit falls in; chunks copied whole in place are not read), as a failing
    // disk might. Verified reads of it either fail (verifiedFails) or give good data.
    // No signature is kept here: the basis is signed from the repository each time (kept ones: signature-cache.int-spec).
    fx = await startReceiver(
      { heartbeatMs: 200, idleTimeoutMs: 10_000, signatureCacheMinBytes: Number.MAX_SAFE_INTEGER },
      {
        wrap: (repository) =>
          replaceMethod(repository, 'readBlob', (readBlob) => async (id: ObjectId, options?: ReadOptions): Promise<Buffer> => {
            const read = await readBlob(id, options);
            if (damaged === null || !id.equals(damaged)) return read;
            if (options?.verify !== false) {
              if (verifiedFails) throw new RepositoryCorruptError(`blob ${id.toString('hex')} does not match its id`);
              return read;
            }
            if (++damagedReads === 1) return read;
            const data = Buffer.from(read);
            data[100] = (data[100] as number) ^ 0xff;
            return data;
          }),
      },
    );
    fx.verifier.addHost(hostA);
    source = await mkdtemp(join(tmpdir(), 'berth-delta-basis-'));
    await writeFile(join(source, 'data.bin'), randomBytes(8 * MiB));
  });

  afterAll(async () => {
    await fx.stop();
    await rm(source, { recursive: true, force: true });
  });

  const backup = (): Promise<BackupResult> => {
    const runId = randomUUID();
    fx.verifier.addRun({ runId, hostId: hostA.hostId, kind: 'backup' });
    return runBackup({ port: fx.port, hostId: hostA.hostId, runId, credential: hostA.credential, root: source });
  };

  /** Backs up, damages the stored chunk holding `changeAt` (at its byte 100), changes the file there, and backs up again. */
  async function secondBackupOverDamage(changeAt: number): Promise<BackupResult> {
    const first = await backup();
    const entry = await fx.repository.resolvePath(Buffer.from(first.done!.rootTree, 'hex'), Buffer.from('/data.bin'));
    damaged = entry?.content?.chunks[Math.floor(changeAt / MiB)] ?? null;
    damagedReads = 0;
    expect(damaged).not.toBeNull();
    await overwrite(join(source, 'data.bin'), changeAt, 4096);
    try {
      return await backup();
    } finally {
      damaged = null;
    }
  }

  async function expectStoredRight(result: BackupResult): Promise<void> {
    const stored = await storedContentHash(fx.repository, result.done!.rootTree, 'data.bin');
    expect(stored.recorded).toEqual(contentHash(await readFile(join(source, 'data.bin'))));
    expect(stored.actual).toEqual(stored.recorded);
  }

  it('rebuilds a wrong file, notices by its content hash, asks for it whole and stores the right content', async () => {
    verifiedFails = false;
    const second = await secondBackupOverDamage(6 * MiB + 512 * 1024);
    expect(second.closeReason).toBeNull();
    expect(actionsOf(second, PlanAction.Delta)).toBe(1);
    expect(second.resends).toBe(1);
    // Read back verified, the basis is intact: the fault was transient, and no damage is counted.
    await waitFor(() => fx.logs.some((l) => l.includes('deltaFiles=1 deltaRetries=1 signatureFailures=0')), 'the session to end with one retry');
    await expectStoredRight(second);
  });

  it('counts the basis as damaged when it does not read back intact after the failed delta', async () => {
    verifiedFails = true;
    const second = await secondBackupOverDamage(3 * MiB + 512 * 1024);
    expect(second.closeReason).toBeNull();
    expect(second.resends).toBe(1);
    await waitFor(() => fx.logs.some((l) => l.includes('deltaFiles=1 deltaRetries=1 signatureFailures=1')), 'the session to end with one damaged basis');
    await expectStoredRight(second);
  });
});

describe('delta against a basis damaged on disk', () => {
  let fx: ReceiverFixture;
  let source: string;

  beforeAll(async () => {
    // The basis is signed as it reads from the repository, damage included (no signature kept: signature-cache.int-spec).
    fx = await startReceiver({ heartbeatMs: 200, idleTimeoutMs: 10_000, signatureCacheMinBytes: Number.MAX_SAFE_INTEGER });
    fx.verifier.addHost(hostA);
    source = await mkdtemp(join(tmpdir(), 'berth-delta-disk-'));
  });

  afterAll(async () => {
    await fx.stop();
    await rm(source, { recursive: true, force: true });
  });

  const backup = (protocol?: number): Promise<BackupResult> => {
    const runId = randomUUID();
    fx.verifier.addRun({ runId, hostId: hostA.hostId, kind: 'backup' });
    return runBackup({ port: fx.port, hostId: hostA.hostId, runId, credential: hostA.credential, root: source, ...(protocol === undefined ? {} : { protocol }) });
  };

  const damageOnDisk = (needle: Buffer): Promise<boolean> => damageInPacks(fx.repository.root, needle);

  it('sends the blocks of a basis damaged on disk whole: none matches the signature read from it, and the file is stored right', async () => {
    const file = join(source, 'data.bin');
    const original = randomBytes(8 * MiB);
    await writeFile(file, original);
    expect((await backup()).done).not.toBeNull();
    // Chunk 5 of the stored version is damaged near its start, and the file changes later in chunk 5: the delta
    // uses the damaged block, but the new version does not reuse the damaged blob.
    expect(await damageOnDisk(original.subarray(5 * MiB, 5 * MiB + 64))).toBe(true);
    await overwrite(file, 5 * MiB + 512 * 1024, 4096);
    const second = await backup();
    expect(second.closeReason).toBeNull();
    // The signature is computed from the basis as it reads, unverified: the damaged block's checksums are the damaged
    // data's, the agent's block does not match them and goes as literal data, and the rebuild is right the first time.
    expect(actionsOf(second, PlanAction.Delta)).toBe(1);
    expect(second.resends).toBe(0);
    expect(second.dataBytes).toBeLessThan(MiB);
    await waitFor(() => fx.logs.some((l) => l.includes('deltaFiles=1 deltaRetries=0 signatureFailures=0')), 'the session to end with the delta applied');
    const stored = await storedContentHash(fx.repository, second.done!.rootTree, 'data.bin');
    expect(stored.recorded).toEqual(contentHash(await readFile(file)));
    expect(stored.actual).toEqual(stored.recorded);
  });

  /** An 8 MiB file backed up, then its stored chunk 2 damaged on disk and the file changed in chunk 6 only. */
  async function sharedDamagedChunk(name: string): Promise<{ file: string; original: Buffer }> {
    const file = join(source, name);
    const original = randomBytes(8 * MiB);
    await writeFile(file, original);
    expect((await backup()).done).not.toBeNull();
    expect(await damageOnDisk(original.subarray(2 * MiB, 2 * MiB + 64))).toBe(true);
    await overwrite(file, 6 * MiB + 1000, 4096);
    return { file, original };
  }

  it('counts a damaged chunk that the new version shares: rebuilt around its damaged block, it has the stored id', async () => {
    const { file, original } = await sharedDamagedChunk('other.bin');
    // A protocol 7 agent compares every block (a v8 agent copies chunk 2 by its id: the next test).
    const second = await backup(7);
    expect(second.closeReason).toBeNull();
    expect(actionsOf(second, PlanAction.Delta)).toBe(1);
    expect(second.resends).toBe(0);
    // Chunk 2 is rebuilt from its good blocks and the damaged one sent as literal data: its id is the stored blob's,
    // which the new snapshot then shares. The verified read-back finds the blob damaged, and the session says so.
    await waitFor(() => fx.logs.some((l) => l.includes('deltaFiles=1 deltaRetries=0 signatureFailures=1')), 'the session to count the damaged chunk');
    // The entry records the agent's file (the rebuild passed its SHA-256); its chunk 2 is the damaged stored blob.
    const entry = await fx.repository.resolvePath(Buffer.from(second.done!.rootTree, 'hex'), Buffer.from('/other.bin'));
    expect(entry?.content?.sha256).toEqual(contentHash(await readFile(file)));
    expect(entry?.content?.chunks[2]).toEqual(contentHash(original.subarray(2 * MiB, 3 * MiB)));
  });

  it('v8: copies a chunk the new version shares by its id, unread, so its damage is left to verification', async () => {
    const { file, original } = await sharedDamagedChunk('third.bin');
    const applied = (): number => fx.logs.filter((l) => l.includes('deltaFiles=1 deltaRetries=0 signatureFailures=0')).length;
    const before = applied();
    const second = await backup();
    expect(second.closeReason).toBeNull();
    expect(second.basisChunks.size).toBe(1);
    expect(second.resends).toBe(0);
    // Chunk 2 has its stored id in the new version: the agent copies it whole, the receiver takes the blob by id
    // without reading it (as for any chunk a delta copies whole), and the session counts nothing.
    await waitFor(() => applied() > before, 'the session to end with the delta applied');
    const entry = await fx.repository.resolvePath(Buffer.from(second.done!.rootTree, 'hex'), Buffer.from('/third.bin'));
    expect(entry?.content?.sha256).toEqual(contentHash(await readFile(file)));
    const damaged = contentHash(original.subarray(2 * MiB, 3 * MiB));
    expect(entry?.content?.chunks[2]).toEqual(damaged);
    // The snapshot shares the damaged blob, as the unchanged files of any backup would: verification finds it.
    const { problems } = await fx.repository.verifySnapshot(second.done!.snapshotId);
    expect(problems.some((problem) => problem.includes(damaged.toString('hex')))).toBe(true);
  });
});

describe('protocol 2 messages used wrongly end only that session', () => {
  let fx: ReceiverFixture;

  beforeAll(async () => {
    fx = await startReceiver({ heartbeatMs: 200, idleTimeoutMs: 10_000 });
    fx.verifier.addHost(hostA);
  });

  afterAll(() => fx.stop());

  const entry = (name: string, size: bigint): EntryMeta => ({
    name: Buffer.from(name),
    type: EntryType.File,
    mode: 0o644,
    uid: 0,
    gid: 0,
    mtimeNs: 1n,
    ctimeNs: 1n,
    ino: 1n,
    dev: 1n,
    size,
    nlink: 1,
    linkTarget: null,
    rdev: 0n,
  });

  async function session(protocol: number): Promise<RawClient> {
    const runId = randomUUID();
    fx.verifier.addRun({ runId, hostId: hostA.hostId, kind: 'backup' });
    const client = await RawClient.connect(fx.port);
    client.write(encodeMessage({ type: MessageType.Hello, protocol, role: 'backup', hostId: hostA.hostId, runId, credential: hostA.credential, agentVersion: 'hostile' }));
    await until(() => client.messages.some((m) => m.type === MessageType.Welcome));
    return client;
  }

  /** Waits for `ready`, failing (instead of spinning on) after 15 s. */
  async function until(ready: () => boolean): Promise<void> {
    const deadline = Date.now() + 15_000;
    while (!ready()) {
      if (Date.now() > deadline) throw new Error('the session did not answer within 15 s');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  async function errorOf(client: RawClient): Promise<string | null> {
    await client.closed;
    const error = client.messages.find((m) => m.type === MessageType.Error);
    return error?.type === MessageType.Error ? `${error.code}: ${error.message}` : null;
  }

  const hello = Buffer.from('hello');
  const helloSha = contentHash(hello);

  it('refuses a ContentOffer from a protocol 1 agent', async () => {
    const client = await session(1);
    client.write(encodeMessage({ type: MessageType.Chunk, seq: 1, dir: Buffer.from('/'), entries: [entry('x', 5n)], last: true }));
    await until(() => client.messages.some((m) => m.type === MessageType.ChunkPlan));
    client.write(encodeMessage({ type: MessageType.ContentOffer, seq: 1, index: 0, size: 5n, sha256: helloSha, chunks: [helloSha] }));
    expect(await errorOf(client)).toMatch(/^protocol: ContentOffer needs protocol 2/);
  });

  it('answers an offer of stored content with known, and refuses data sent after it', async () => {
    const client = await session(2);
    client.write(encodeMessage({ type: MessageType.Chunk, seq: 1, dir: Buffer.from('/'), entries: [entry('x', 5n)], last: false }));
    await until(() => client.messages.some((m) => m.type === MessageType.ChunkPlan));
    client.write(encodeMessage({ type: MessageType.FileData, seq: 1, index: 0, data: hello }));
    client.write(encodeMessage({ type: MessageType.FileEnd, seq: 1, index: 0, size: 5n, sha256: helloSha, error: null }));
    client.write(encodeMessage({ type: MessageType.Chunk, seq: 2, dir: Buffer.from('/'), entries: [entry('y', 5n)], last: true }));
    await until(() => client.messages.filter((m) => m.type === MessageType.ChunkPlan).length === 2);
    client.write(encodeMessage({ type: MessageType.ContentOffer, seq: 2, index: 0, size: 5n, sha256: helloSha, chunks: [helloSha] }));
    await until(() => client.messages.some((m) => m.type === MessageType.OfferReply));
    expect(client.messages.find((m) => m.type === MessageType.OfferReply)).toMatchObject({ seq: 2, index: 0, known: true });
    client.write(encodeMessage({ type: MessageType.FileData, seq: 2, index: 0, data: hello }));
    expect(await errorOf(client)).toMatch(/^protocol: data for entry 0 of chunk 2 after the repository said it has that content/);
  });

  it('v5: answers first-chunk offers, also ahead of their turn while another file is arriving, and takes the offered file whole after', async () => {
    const stored = randomBytes(MiB);
    const fresh = randomBytes(MiB);
    const client = await session(5);
    // Protocol 5 names content of more than one chunk by the SHA-256 of its bytes.
    // x: one chunk of 1 MiB, stored by this session; y and z: 2 MiB files starting with it, or not.
    client.write(encodeMessage({ type: MessageType.PackedChunk, seq: 1, dir: Buffer.from('/'), entries: [entry('x', BigInt(MiB)), entry('y', BigInt(2 * MiB)), entry('z', BigInt(2 * MiB))], last: true }));
    await until(() => client.messages.some((m) => m.type === MessageType.ChunkPlan));
    client.write(encodeMessage({ type: MessageType.FileData, seq: 1, index: 0, data: stored }));
    client.write(encodeMessage({ type: MessageType.FileEnd, seq: 1, index: 0, size: BigInt(MiB), sha256: contentHash(stored), error: null }));
    const y = Buffer.concat([stored, fresh]);
    const z = Buffer.concat([fresh, stored]);
    client.write(encodeMessage({ type: MessageType.ContentOffer, seq: 1, index: 1, size: BigInt(y.length), sha256: Buffer.alloc(32), chunks: [contentHash(stored)] }));
    await until(() => client.messages.some((m) => m.type === MessageType.OfferReply));
    // y starts with a stored chunk: the receiver wants the full offer.
    expect(client.messages.find((m) => m.type === MessageType.OfferReply)).toEqual({ type: MessageType.OfferReply, seq: 1, index: 1, known: false, heldChunks: 1 });
    client.write(encodeMessage({ type: MessageType.ContentOffer, seq: 1, index: 1, size: BigInt(y.length), sha256: sha256(y), chunks: [contentHash(stored), contentHash(fresh)] }));
    await until(() => client.messages.filter((m) => m.type === MessageType.OfferReply).length === 2);
    expect(client.messages.filter((m) => m.type === MessageType.OfferReply)[1]).toMatchObject({ seq: 1, index: 1, known: false, heldChunks: 1 });
    client.write(encodeMessage({ type: MessageType.FileData, seq: 1, index: 1, data: fresh.subarray(0, 1000) }));
    // z is offered ahead while y's content is arriving; its first chunk is not stored: it comes whole, in its turn.
    client.write(encodeMessage({ type: MessageType.ContentOffer, seq: 1, index: 2, size: BigInt(z.length), sha256: Buffer.alloc(32), chunks: [contentHash(fresh)] }));
    await until(() => client.messages.filter((m) => m.type === MessageType.OfferReply).length === 3);
    expect(client.messages.filter((m) => m.type === MessageType.OfferReply)[2]).toEqual({ type: MessageType.OfferReply, seq: 1, index: 2, known: false, heldChunks: 0 });
    client.write(encodeMessage({ type: MessageType.FileData, seq: 1, index: 1, data: fresh.subarray(1000) }));
    client.write(encodeMessage({ type: MessageType.FileEnd, seq: 1, index: 1, size: BigInt(y.length), sha256: sha256(y), error: null }));
    client.write(encodeMessage({ type: MessageType.FileData, seq: 1, index: 2, data: z }));
    client.write(encodeMessage({ type: MessageType.FileEnd, seq: 1, index: 2, size: BigInt(z.length), sha256: sha256(z), error: null }));
    client.write(encodeMessage({ type: MessageType.Finish }));
    await until(() => client.messages.some((m) => m.type === MessageType.Done || m.type === MessageType.Error));
    const done = client.messages.find((m) => m.type === MessageType.Done);
    expect(done?.type === MessageType.Done ? done.stats : null).toMatchObject({ files: 3, bytes: 5 * MiB });
    if (done?.type !== MessageType.Done) throw new Error('no Done');
    expect(await storedContentHash(fx.repository, done.rootTree, 'y')).toEqual({ recorded: sha256(y), actual: contentHash(y) });
    expect(await storedContentHash(fx.repository, done.rootTree, 'z')).toEqual({ recorded: sha256(z), actual: contentHash(z) });
    client.socket.destroy();
  });

  it('v5: refuses a first-chunk offer of a file whose content has started or is not expected', async () => {
    const data = randomBytes(MiB);
    const client = await session(5);
    // Names no earlier test of this host stored (an unchanged file would be planned Skip).
    client.write(encodeMessage({ type: MessageType.PackedChunk, seq: 1, dir: Buffer.from('/'), entries: [entry('started', BigInt(2 * MiB))], last: true }));
    await until(() => client.messages.some((m) => m.type === MessageType.ChunkPlan));
    client.write(encodeMessage({ type: MessageType.FileData, seq: 1, index: 0, data }));
    client.write(encodeMessage({ type: MessageType.ContentOffer, seq: 1, index: 0, size: BigInt(2 * MiB), sha256: Buffer.alloc(32), chunks: [contentHash(data)] }));
    expect(await errorOf(client)).toMatch(/^protocol: ContentOffer for entry 0 of chunk 1, whose content is not expected or has started/);
  });

  it('treats an offer naming too few chunks from a protocol 4 agent as before: unknown, nothing held', async () => {
    const data = randomBytes(MiB);
    const client = await session(4);
    client.write(encodeMessage({ type: MessageType.PackedChunk, seq: 1, dir: Buffer.from('/'), entries: [entry('v4-x', BigInt(MiB)), entry('v4-y', BigInt(2 * MiB))], last: true }));
    await until(() => client.messages.some((m) => m.type === MessageType.ChunkPlan));
    client.write(encodeMessage({ type: MessageType.FileData, seq: 1, index: 0, data }));
    client.write(encodeMessage({ type: MessageType.FileEnd, seq: 1, index: 0, size: BigInt(MiB), sha256: contentHash(data), error: null }));
    client.write(encodeMessage({ type: MessageType.ContentOffer, seq: 1, index: 1, size: BigInt(2 * MiB), sha256: Buffer.alloc(32), chunks: [contentHash(data)] }));
    await until(() => client.messages.some((m) => m.type === MessageType.OfferReply));
    expect(client.messages.find((m) => m.type === MessageType.OfferReply)).toMatchObject({ seq: 1, index: 1, known: false, heldChunks: 0 });
    client.socket.destroy();
  });

  it('answers unknown for an offer whose chunks do not add up to the file', async () => {
    const client = await session(2);
    client.write(encodeMessage({ type: MessageType.Chunk, seq: 1, dir: Buffer.from('/'), entries: [entry('x', 5n)], last: true }));
    await until(() => client.messages.some((m) => m.type === MessageType.ChunkPlan));
    client.write(encodeMessage({ type: MessageType.ContentOffer, seq: 1, index: 0, size: 5n, sha256: contentHash(Buffer.from('other')), chunks: [helloSha] }));
    await until(() => client.messages.some((m) => m.type === MessageType.OfferReply));
    expect(client.messages.find((m) => m.type === MessageType.OfferReply)).toMatchObject({ known: false });
    client.socket.destroy();
  });

  it('v7: answers unknown for an offer named by the hash of its chunk ids when the stored chunks are not the cut of the file', async () => {
    const stored = randomBytes(MiB);
    const client = await session(7);
    // x (1 MiB) is stored by this session; y (2 MiB) is then offered as x's chunk twice, and z as 'hello' twice.
    client.write(encodeMessage({ type: MessageType.PackedChunk, seq: 1, dir: Buffer.from('/'), entries: [entry('v7-x', BigInt(MiB)), entry('v7-y', BigInt(2 * MiB)), entry('v7-z', BigInt(2 * MiB))], last: true }));
    await until(() => client.messages.some((m) => m.type === MessageType.ChunkPlan));
    client.write(encodeMessage({ type: MessageType.FileData, seq: 1, index: 0, data: stored }));
    client.write(encodeMessage({ type: MessageType.FileEnd, seq: 1, index: 0, size: BigInt(MiB), sha256: contentHash(stored), error: null }));
    const twice = [contentHash(stored), contentHash(stored)];
    client.write(encodeMessage({ type: MessageType.ContentOffer, seq: 1, index: 1, size: BigInt(2 * MiB), sha256: chunkListHash(twice, 2 * MiB), chunks: twice }));
    await until(() => client.messages.some((m) => m.type === MessageType.OfferReply));
    // Held and named right: nothing is sent for y.
    expect(client.messages.find((m) => m.type === MessageType.OfferReply)).toMatchObject({ seq: 1, index: 1, known: true });
    client.write(encodeMessage({ type: MessageType.FileEnd, seq: 1, index: 1, size: BigInt(2 * MiB), sha256: chunkListHash(twice, 2 * MiB), error: null }));
    const hellos = [helloSha, helloSha];
    client.write(encodeMessage({ type: MessageType.ContentOffer, seq: 1, index: 2, size: BigInt(2 * MiB), sha256: chunkListHash(hellos, 2 * MiB), chunks: hellos }));
    await until(() => client.messages.filter((m) => m.type === MessageType.OfferReply).length === 2);
    // 'hello' is stored (an earlier test) but is 5 bytes, not a 1 MiB chunk: the offer does not name this file.
    expect(client.messages.filter((m) => m.type === MessageType.OfferReply)[1]).toMatchObject({ seq: 1, index: 2, known: false, heldChunks: 0 });
    client.socket.destroy();

    // Stored chunks of the right cut, but named otherwise (the SHA-256 of the bytes, protocol 6's name), or the
    // size's last chunk not the stored one's length: unknown. y's stored chunk held as a prefix is all that is kept.
    const other = await session(7);
    const bytes = Buffer.concat([stored, stored]);
    other.write(encodeMessage({ type: MessageType.PackedChunk, seq: 1, dir: Buffer.from('/'), entries: [entry('v7-u', BigInt(2 * MiB)), entry('v7-w', BigInt(2 * MiB - 1))], last: true }));
    await until(() => other.messages.some((m) => m.type === MessageType.ChunkPlan));
    other.write(encodeMessage({ type: MessageType.ContentOffer, seq: 1, index: 0, size: BigInt(2 * MiB), sha256: sha256(bytes), chunks: twice }));
    await until(() => other.messages.some((m) => m.type === MessageType.OfferReply));
    expect(other.messages.find((m) => m.type === MessageType.OfferReply)).toMatchObject({ seq: 1, index: 0, known: false, heldChunks: 1 });
    other.socket.destroy();
    const short = await session(7);
    short.write(encodeMessage({ type: MessageType.PackedChunk, seq: 1, dir: Buffer.from('/'), entries: [entry('v7-w', BigInt(2 * MiB - 1))], last: true }));
    await until(() => short.messages.some((m) => m.type === MessageType.ChunkPlan));
    short.write(encodeMessage({ type: MessageType.ContentOffer, seq: 1, index: 0, size: BigInt(2 * MiB - 1), sha256: chunkListHash(twice, 2 * MiB - 1), chunks: twice }));
    await until(() => short.messages.some((m) => m.type === MessageType.OfferReply));
    expect(short.messages.find((m) => m.type === MessageType.OfferReply)).toMatchObject({ seq: 1, index: 0, known: false });
    short.socket.destroy();
  });
});
