import { appendFile, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { chunkListHash } from '@berth/delta';
import { type WrittenContent } from './api';
import { ContentWriter, inlineWholeHash } from './content-writer';
import { RepositoryAlreadyExistsError, RepositoryCorruptError, RepositoryInputError, RepositoryIoError } from './errors';
import { sha256 } from './ids';
import { CONTENT_CHUNK_BYTES, type JournalRecord, type SnapshotRecord } from './model';
import { Repository } from './repository';
import { SnapshotStore } from './snapshot-store';
import { dirEntry, fifoEntry, fileEntry, flipBits, HOST_A, HOST_B, RUN_1, SNAP_1, SNAP_2, tempDirs } from '../test/support';

const temp = tempDirs();
afterEach(() => temp.cleanup());

function snapshot(id: string, hostId: string, rootTree: string, publishedAt: string): SnapshotRecord {
  return {
    id,
    hostId,
    hostName: 'web-1',
    runId: RUN_1,
    rootTree,
    paths: ['/etc', '/srv'],
    startedAt: '2026-11-25T10:00:00.000Z',
    publishedAt,
    stats: { files: 3, dirs: 1, bytes: 100, bytesReceived: 100, bytesStored: 60 },
  };
}

function journalRecord(dir: string, n: number): JournalRecord {
  return { dir: Buffer.from(dir), tree: sha256(Buffer.from(dir)), files: n, dirs: 1, bytes: n * 1000 };
}

describe('snapshots', () => {
  it('publishes atomically, lists per host oldest first, finds by id across hosts', async () => {
    const repo = await Repository.open(await temp.make());
    const root = (await repo.putTree({ entries: [fifoEntry('p')] })).id.toString('hex');
    const newer = snapshot(SNAP_2, HOST_A, root, '2026-11-25T12:00:00.000Z');
    const older = snapshot(SNAP_1, HOST_A, root, '2026-11-25T11:00:00.000Z');
    await repo.publishSnapshot(newer);
    await repo.publishSnapshot(older);
    expect((await repo.listSnapshots(HOST_A)).map((s) => s.id)).toEqual([SNAP_1, SNAP_2]);
    expect((await repo.latestSnapshot(HOST_A))?.id).toBe(SNAP_2);
    expect(await repo.latestSnapshot(HOST_B)).toBeNull();
    expect(await repo.findSnapshot(SNAP_1)).toEqual(older);
    expect(await repo.findSnapshot('00000000-0000-4000-8000-000000000000')).toBeNull();
    // Publishing the same record again is a no-op; a different one under the same id is refused.
    await repo.publishSnapshot(older);
    await expect(repo.publishSnapshot({ ...older, hostName: 'other' })).rejects.toThrow(RepositoryAlreadyExistsError);
    await expect(repo.publishSnapshot({ ...older, hostId: HOST_B })).rejects.toThrow(RepositoryAlreadyExistsError);
    await repo.close();
    // The root tree was flushed before the record became visible: a fresh open can read it.
    const again = await Repository.open(repo.root);
    const published = await again.findSnapshot(SNAP_2);
    expect((await again.readTree(Buffer.from(published!.rootTree, 'hex'))).entries).toHaveLength(1);
    await again.close();
  });

  it('ignores leftovers of an interrupted publish and files that are not snapshot records', async () => {
    const repo = await Repository.open(await temp.make());
    const root = (await repo.putTree({ entries: [] })).id.toString('hex');
    await repo.publishSnapshot(snapshot(SNAP_1, HOST_A, root, '2026-11-25T11:00:00.000Z'));
    const hostDir = join(repo.root, 'snapshots', HOST_A);
    await writeFile(join(hostDir, `${SNAP_2}.json.1a2b.tmp`), '{"half');
    await writeFile(join(repo.root, 'tmp', `${SNAP_2}.json.3c4d.tmp`), '{"half');
    expect((await repo.listSnapshots(HOST_A)).map((s) => s.id)).toEqual([SNAP_1]);
    expect(await repo.findSnapshot(SNAP_2)).toBeNull();
    await repo.close();
  });

  it('puts a staged record in place only when committed, and an aborted one nowhere', async () => {
    const repo = await Repository.open(await temp.make());
    const root = (await repo.putTree({ entries: [] })).id.toString('hex');
    await repo.flush();
    const store = new SnapshotStore(join(repo.root, 'snapshots'), join(repo.root, 'tmp'));
    const staged = await store.prepare(snapshot(SNAP_1, HOST_A, root, '2026-11-25T11:00:00.000Z'));
    expect(await repo.listSnapshots(HOST_A)).toEqual([]);
    expect(await repo.findSnapshot(SNAP_1)).toBeNull();
    expect((await readdir(join(repo.root, 'tmp'))).filter((f) => f.endsWith('.tmp'))).toHaveLength(1);
    await staged.commit();
    expect((await repo.listSnapshots(HOST_A)).map((s) => s.id)).toEqual([SNAP_1]);
    const dropped = await store.prepare(snapshot(SNAP_2, HOST_A, root, '2026-11-25T12:00:00.000Z'));
    await dropped.abort();
    expect((await repo.listSnapshots(HOST_A)).map((s) => s.id)).toEqual([SNAP_1]);
    expect((await readdir(join(repo.root, 'tmp'))).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    // The same record again stages nothing; a different one under its id is refused before anything is written.
    await (await store.prepare(snapshot(SNAP_1, HOST_A, root, '2026-11-25T11:00:00.000Z'))).commit();
    await expect(store.prepare({ ...snapshot(SNAP_1, HOST_A, root, '2026-11-25T11:00:00.000Z'), hostName: 'other' })).rejects.toThrow(RepositoryAlreadyExistsError);
    expect((await readdir(join(repo.root, 'tmp'))).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    await repo.close();
  });

  it('puts no record in place when the flush of what it names fails, and leaves no staged file behind', async () => {
    const repo = await Repository.open(await temp.make());
    // Injected fault: the packs folder is replaced by a file, so the pack holding the root tree cannot be written.
    await rm(join(repo.root, 'packs'), { recursive: true });
    await writeFile(join(repo.root, 'packs'), 'not a folder');
    const root = (await repo.putTree({ entries: [fifoEntry('p')] })).id.toString('hex');
    await expect(repo.publishSnapshot(snapshot(SNAP_1, HOST_A, root, '2026-11-25T11:00:00.000Z'))).rejects.toThrow(RepositoryIoError);
    expect(await repo.listSnapshots(HOST_A)).toEqual([]);
    expect((await readdir(join(repo.root, 'tmp'))).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    await expect(repo.close()).rejects.toThrow(RepositoryIoError);
  });

  it('refuses ids that could name a path, unknown root trees, and reports a damaged record', async () => {
    const repo = await Repository.open(await temp.make());
    const root = (await repo.putTree({ entries: [] })).id.toString('hex');
    await expect(repo.publishSnapshot(snapshot(SNAP_1, '../../etc', root, '2026-11-25T11:00:00.000Z'))).rejects.toThrow(/hostId must be a lowercase uuid/);
    await expect(repo.publishSnapshot(snapshot('../x', HOST_A, root, '2026-11-25T11:00:00.000Z'))).rejects.toThrow(RepositoryInputError);
    await expect(repo.listSnapshots('..')).rejects.toThrow(/hostId must be a lowercase uuid/);
    await expect(repo.findSnapshot('/etc/passwd')).rejects.toThrow(/snapshotId must be a lowercase uuid/);
    const unknownRoot = sha256(Buffer.from('no such tree')).toString('hex');
    await expect(repo.publishSnapshot(snapshot(SNAP_1, HOST_A, unknownRoot, '2026-11-25T11:00:00.000Z'))).rejects.toThrow(/root tree .* is not stored/);
    await expect(repo.publishSnapshot(snapshot(SNAP_1, HOST_A, root, 'yesterday'))).rejects.toThrow(/publishedAt must be an ISO date/);
    expect(await readdir(join(repo.root, 'snapshots'))).toEqual([]);

    await repo.publishSnapshot(snapshot(SNAP_1, HOST_A, root, '2026-11-25T11:00:00.000Z'));
    const path = join(repo.root, 'snapshots', HOST_A, `${SNAP_1}.json`);
    await writeFile(path, (await readFile(path, 'utf8')).replace(root, 'f'.repeat(63)));
    await expect(repo.listSnapshots(HOST_A)).rejects.toThrow(RepositoryCorruptError);
    await repo.close();
  });
});

describe('run journals', () => {
  it('appends durably, reads back in order, and removes', async () => {
    const repo = await Repository.open(await temp.make());
    expect(await repo.readJournal(RUN_1)).toEqual([]);
    await repo.appendJournal(RUN_1, [journalRecord('/srv/a', 1), journalRecord('/srv', 2)]);
    await Promise.all(Array.from({ length: 20 }, (_, i) => repo.appendJournal(RUN_1, [journalRecord(`/srv/many/${i}`, i)])));
    const records = await repo.readJournal(RUN_1);
    expect(records).toHaveLength(22);
    expect(records[0]).toEqual(journalRecord('/srv/a', 1));
    expect(records.slice(2).map((r) => r.dir.toString()).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `/srv/many/${i}`).sort());
    await repo.close();

    const again = await Repository.open(repo.root);
    expect(await again.readJournal(RUN_1)).toHaveLength(22);
    await again.removeJournal(RUN_1);
    expect(await again.readJournal(RUN_1)).toEqual([]);
    expect(await readdir(join(repo.root, 'runs'))).toEqual([]);
    await again.close();
  });

  it('ignores and truncates a torn last record, and appends after it cleanly', async () => {
    const repo = await Repository.open(await temp.make());
    await repo.appendJournal(RUN_1, [journalRecord('/a', 1), journalRecord('/b', 2)]);
    await repo.close();
    const path = join(repo.root, 'runs', `${RUN_1}.journal`);
    const intact = (await stat(path)).size;
    // Half of a third record: its length says 40 bytes, 10 follow.
    const torn = Buffer.alloc(18);
    torn.writeUInt32BE(40, 0);
    await appendFile(path, torn);

    const reopened = await Repository.open(repo.root);
    // Appending first (before any read) must not leave the new record behind the torn one.
    await reopened.appendJournal(RUN_1, [journalRecord('/c', 3)]);
    expect((await reopened.readJournal(RUN_1)).map((r) => r.dir.toString())).toEqual(['/a', '/b', '/c']);
    await reopened.close();

    await appendFile(path, Buffer.from([0, 0, 0, 5, 1, 2, 3, 4, 9, 9, 9, 9, 9]));
    const third = await Repository.open(repo.root);
    expect((await third.readJournal(RUN_1)).map((r) => r.dir.toString())).toEqual(['/a', '/b', '/c']);
    expect((await stat(path)).size).toBeGreaterThan(intact);
    expect((await stat(path)).size).toBeLessThan(intact + 60);
    await third.close();
  });

  it('keeps chunk records of a partial directory (with the name they end at) in order among directory records', async () => {
    const repo = await Repository.open(await temp.make());
    const chunk1 = { ...journalRecord('/big', 512), partialThrough: Buffer.from('f00511') };
    const chunk2 = { ...journalRecord('/big', 100), partialThrough: Buffer.from([0xff, 0x01]) };
    await repo.appendJournal(RUN_1, [journalRecord('/big/sub', 1), chunk1]);
    await repo.appendJournal(RUN_1, [chunk2]);
    await repo.close();
    const again = await Repository.open(repo.root);
    expect(await again.readJournal(RUN_1)).toEqual([journalRecord('/big/sub', 1), chunk1, chunk2]);
    await expect(again.appendJournal(RUN_1, [{ ...journalRecord('/a', 1), partialThrough: Buffer.alloc(0) }])).rejects.toThrow(/partialThrough must be 1..255 bytes/);
    await again.close();
  });

  it('refuses bad run ids and bad records, and a record type it does not know', async () => {
    const repo = await Repository.open(await temp.make());
    await expect(repo.appendJournal('../../escape', [journalRecord('/a', 1)])).rejects.toThrow(/runId must be a lowercase uuid/);
    await expect(repo.appendJournal(RUN_1, [{ ...journalRecord('/a', 1), tree: Buffer.alloc(3) }])).rejects.toThrow(/tree must be a 32-byte id/);
    await expect(repo.appendJournal(RUN_1, [{ ...journalRecord('/a', 1), files: -1 }])).rejects.toThrow(/files must be/);
    await repo.appendJournal(RUN_1, [journalRecord('/a', 1)]);
    await repo.close();
    // A well-formed record of type 9, as a newer Berth might write.
    const body = Buffer.from([9, 1, 2, 3]);
    const header = Buffer.alloc(8);
    header.writeUInt32BE(body.length, 0);
    header.writeUInt32BE(crc32(body), 4);
    await appendFile(join(repo.root, 'runs', `${RUN_1}.journal`), Buffer.concat([header, body]));
    const again = await Repository.open(repo.root);
    await expect(again.readJournal(RUN_1)).rejects.toThrow(/unknown type 9/);
    await again.close();
  });
});

describe('verifySnapshot', () => {
  it('finds nothing wrong in a good snapshot and names the file whose blob was damaged on disk', async () => {
    const repo = await Repository.open(await temp.make());
    const writer = repo.createContentWriter();
    await writer.write(Buffer.from('precious content that will rot'));
    const { content, size } = await writer.finish();
    const shared = await repo.createContentWriter().finish();
    const sub = await repo.putTree({ entries: [fileEntry('rotten', content, size), fileEntry('zero', shared.content, 0n)] });
    const root = await repo.putTree({ entries: [dirEntry('data', sub.id), fileEntry('same', content, size)] });
    await repo.publishSnapshot(snapshot(SNAP_1, HOST_A, root.id.toString('hex'), '2026-11-25T11:00:00.000Z'));
    expect(await repo.verifySnapshot(SNAP_1)).toEqual({ objects: 3, bytes: expect.any(Number) as number, problems: [] });
    await repo.close();

    const [shard] = await readdir(join(repo.root, 'packs'));
    const [packName] = (await readdir(join(repo.root, 'packs', shard!))).filter((n) => n.endsWith('.pack'));
    const packPath = join(repo.root, 'packs', shard!, packName!);
    const bytes = await readFile(packPath);
    flipBits(bytes, bytes.indexOf(Buffer.from('will rot')), 0x20);
    await writeFile(packPath, bytes);

    const again = await Repository.open(repo.root);
    const result = await again.verifySnapshot(SNAP_1);
    // Both files sharing the damaged chunk are named; the empty file and the trees are fine.
    expect(result.problems).toHaveLength(2);
    expect(result.problems.sort()[0]).toMatch(/^file \/data\/rotten: chunk [0-9a-f]{64}: object .* does not match its id/);
    expect(result.problems.sort()[1]).toMatch(/^file \/same: chunk /);
    await expect(again.readBlob(content.chunks[0]!)).rejects.toThrow(RepositoryCorruptError);
    await expect(again.verifySnapshot(SNAP_2)).rejects.toThrow(/not in the repository/);
    await again.close();
  });

  it('checks content of many chunks by its content hash, or by the SHA-256 of its bytes when stored before protocol 7', async () => {
    const repo = await Repository.open(await temp.make());
    const data = randomBytes(2 * CONTENT_CHUNK_BYTES + 99);
    const named = await writeAll(new ContentWriter(repo), data);
    const legacy = await writeAll(new ContentWriter(repo, null, inlineWholeHash), data);
    expect(legacy.content.sha256.equals(sha256(data))).toBe(true);
    expect(named.content.sha256.equals(legacy.content.sha256)).toBe(false);
    // Wrong names: the same chunks under another hash, and chunks cut other than the content hash cuts them.
    const wrongHash = { sha256: sha256(Buffer.from('not this content')), chunks: named.content.chunks };
    const small = [Buffer.from('a'), Buffer.from('b')];
    const smallIds = await Promise.all(small.map(async (piece) => (await repo.putBlob(piece)).id));
    const badCut = { sha256: chunkListHash(smallIds, 2), chunks: smallIds };
    const root = await repo.putTree({
      entries: [fileEntry('bad-cut', badCut, 2n), fileEntry('legacy', legacy.content, legacy.size), fileEntry('named', named.content, named.size), fileEntry('wrong', wrongHash, named.size)],
    });
    await repo.publishSnapshot(snapshot(SNAP_1, HOST_A, root.id.toString('hex'), '2026-11-25T11:00:00.000Z'));
    const result = await repo.verifySnapshot(SNAP_1);
    expect(result.problems.sort()).toEqual([
      expect.stringMatching(/^file \/bad-cut: chunk [0-9a-f]{64} is 1 bytes, not a chunk of the content's cut$/) as string,
      expect.stringMatching(/^file \/wrong: content does not match its hash [0-9a-f]{64}$/) as string,
    ]);
    await repo.close();
  });
});

async function writeAll(writer: ContentWriter, data: Buffer): Promise<WrittenContent> {
  await writer.write(Buffer.from(data));
  return writer.finish();
}

