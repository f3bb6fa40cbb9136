import { chunkListHash } from '@berth/delta';
import { spawnSync } from 'node:child_process';
import { readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { RepositoryFormatError, RepositoryInputError, RepositoryIoError, RepositoryLockedError, RepositoryNotFoundError, RepositoryNotWritableError } from './errors';
import { sha256 } from './ids';
import { CONTENT_CHUNK_BYTES, type ObjectId, TreeEntryType } from './model';
import { Repository } from './repository';
import { EncodedEntries, encodeTree, storedEntry } from './tree/tree-codec';
import { dirEntry, fifoEntry, fileEntry, symlinkEntry, tempDirs } from '../test/support';

const temp = tempDirs();
afterEach(() => temp.cleanup());

async function packFiles(root: string, ext: string): Promise<string[]> {
  const out: string[] = [];
  for (const shard of await readdir(join(root, 'packs'))) {
    for (const name of await readdir(join(root, 'packs', shard))) if (name.endsWith(ext)) out.push(join(root, 'packs', shard, name));
  }
  return out;
}

/** Flushes and closes `repo`, opens it again and reads every blob back, checked against what was put. */
async function expectBlobsAfterReopen(repo: Repository, ids: readonly ObjectId[], blobs: readonly Buffer[]): Promise<void> {
  await repo.flush();
  await repo.close();
  const again = await Repository.open(repo.root);
  expect(again.recovered).toEqual([]);
  for (const [i, id] of ids.entries()) expect((await again.readBlob(id)).equals(blobs[i]!)).toBe(true);
  await again.close();
}

describe('Repository objects', () => {
  it('creates a self-describing layout with a format version', async () => {
    const dir = join(await temp.make(), 'repo');
    const repo = await Repository.open(dir);
    await repo.close();
    expect(JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'))).toMatchObject({ format: 'berth-repository', version: 2, objectHash: 'sha256', chunkBytes: CONTENT_CHUNK_BYTES });
    expect((await readdir(dir)).sort()).toEqual(['config.json', 'packs', 'runs', 'snapshots', 'tmp']);
  });

  it('reads a version 1 repository as it is, marks it version 2 when it opens it for writing, and refuses a newer one', async () => {
    const dir = join(await temp.make(), 'repo');
    const created = await Repository.open(dir);
    const { id } = await created.putBlob(Buffer.from('stored under version 1'));
    await created.close();
    const configPath = join(dir, 'config.json');
    const config = JSON.parse(await readFile(configPath, 'utf8')) as Record<string, unknown>;
    await writeFile(configPath, JSON.stringify({ ...config, version: 1 }));

    const reader = await Repository.open(dir, { readOnly: true });
    expect((await reader.readBlob(id)).toString()).toBe('stored under version 1');
    await reader.close();
    expect(JSON.parse(await readFile(configPath, 'utf8'))).toMatchObject({ version: 1 });

    const writer = await Repository.open(dir);
    expect((await writer.readBlob(id)).toString()).toBe('stored under version 1');
    await writer.close();
    expect(JSON.parse(await readFile(configPath, 'utf8'))).toEqual({ ...config, version: 2 });

    await writeFile(configPath, JSON.stringify({ ...config, version: 3 }));
    await expect(Repository.open(dir)).rejects.toThrow(/has repository format version 3; this Berth reads versions 1 and 2/);
  });

  it('stores blobs by SHA-256 and reads them back, before and after flush and across reopen', async () => {
    const dir = await temp.make();
    const repo = await Repository.open(dir);
    const data = Buffer.from('hello berth');
    const { id, stored } = await repo.putBlob(data);
    expect(stored).toBe(true);
    expect(id.equals(sha256(data))).toBe(true);
    expect(repo.has(id)).toBe(true);
    expect((await repo.readBlob(id)).equals(data)).toBe(true);
    await repo.flush();
    expect((await repo.readBlob(id)).equals(data)).toBe(true);
    await repo.close();

    const again = await Repository.open(dir);
    expect((await again.readBlob(id)).equals(data)).toBe(true);
    expect(again.has(sha256(Buffer.from('other')))).toBe(false);
    await expect(again.readBlob(sha256(Buffer.from('other')))).rejects.toThrow(RepositoryNotFoundError);
    await again.close();
  });

  it('stores large blobs (written from their own buffers) among small ones, readable before and after reopen', async () => {
    const dir = await temp.make();
    const repo = await Repository.open(dir, { packTargetBytes: 5 * CONTENT_CHUNK_BYTES });
    const blobs: Buffer[] = [];
    for (let i = 0; i < 24; i++) {
      const size = i % 3 === 0 ? CONTENT_CHUNK_BYTES : i % 3 === 1 ? 100 + i : 64 * 1024 + i;
      blobs.push(Buffer.alloc(size, i));
    }
    const ids = [];
    for (const blob of blobs) ids.push((await repo.putBlob(blob)).id);
    // Some are still in memory (the current pack), some written: all read back the same.
    for (const [i, id] of ids.entries()) expect((await repo.readBlob(id)).equals(blobs[i]!)).toBe(true);
    await expectBlobsAfterReopen(repo, ids, blobs);
  });

  it('stores thousands of small blobs written from their own buffers (more than one writev holds) among tiny copied ones, readable pending and after reopen', async () => {
    const dir = await temp.make();
    const repo = await Repository.open(dir);
    const blobs: Buffer[] = [];
    for (let i = 0; i < 3000; i++) {
      // Every fifth one is below the by-reference size and copied into a segment; the rest are queued as they are.
      const blob = Buffer.alloc(i % 5 === 0 ? 40 + (i % 400) : 600 + ((i * 37) % 7000));
      blob.writeUInt32BE(i, 0);
      blob.fill(i % 251, 4);
      blobs.push(blob);
    }
    // Put all at once: their records queue up faster than they are written, a writev's worth of buffers and more.
    const ids = (await Promise.all(blobs.map((blob) => repo.putBlob(blob)))).map((result) => result.id);
    for (const i of [0, 1, 1500, 2999]) expect((await repo.readBlob(ids[i]!)).equals(blobs[i]!)).toBe(true);
    await expectBlobsAfterReopen(repo, ids, blobs);
  });

  it('reads a blob unverified only when asked: a damaged blob then comes back as it is', async () => {
    const dir = await temp.make();
    const repo = await Repository.open(dir);
    const data = Buffer.alloc(5000, 9);
    const { id } = await repo.putBlob(data);
    await repo.close();
    const [pack] = await packFiles(dir, '.pack');
    const bytes = await readFile(pack!);
    const at = bytes.indexOf(data);
    bytes.writeUInt8(bytes.readUInt8(at + 100) ^ 1, at + 100);
    await writeFile(pack!, bytes);
    const again = await Repository.open(dir);
    await expect(again.readBlob(id)).rejects.toThrow(/does not match its id/);
    const unverified = await again.readBlob(id, { verify: false });
    expect(unverified.length).toBe(data.length);
    expect(unverified.equals(data)).toBe(false);
    await again.close();
  });

  it('stores identical content once, whoever sends it', async () => {
    const dir = await temp.make();
    const repo = await Repository.open(dir);
    const chunk = Buffer.alloc(64 * 1024, 7);
    const results = await Promise.all([repo.putBlob(chunk), repo.putBlob(Buffer.from(chunk)), repo.putBlob(chunk)]);
    expect(results.map((r) => r.stored)).toEqual([true, false, false]);
    const tree = (host: string) => ({ entries: [fileEntry(host, { sha256: sha256(chunk), chunks: [results[0].id] }, BigInt(chunk.length))] });
    await repo.putTree(tree('on-host-a'));
    await repo.putTree(tree('on-host-b'));
    await repo.close();
    const again = await Repository.open(dir);
    expect((await again.putBlob(chunk)).stored).toBe(false);
    expect((await again.putTree(tree('on-host-a'))).stored).toBe(false);
    await again.close();
    const packBytes = (await Promise.all((await packFiles(dir, '.pack')).map((p) => stat(p)))).reduce((sum, s) => sum + s.size, 0);
    expect(packBytes).toBeLessThan(chunk.length * 2);
  });

  it('stores trees, refuses trees pointing at objects it does not have, and rejects oversized blobs', async () => {
    const repo = await Repository.open(await temp.make());
    const blob = await repo.putBlob(Buffer.from('x'));
    const sub = await repo.putTree({ entries: [fifoEntry('p'), symlinkEntry('s', '/etc/passwd')] });
    const root = { entries: [dirEntry('d', sub.id), fileEntry('f', { sha256: blob.id, chunks: [blob.id] }, 1n)] };
    const stored = await repo.putTree(root);
    expect(await repo.readTree(stored.id)).toEqual(root);
    expect((await repo.putTree(root)).stored).toBe(false);
    const missing = sha256(Buffer.from('never stored'));
    await expect(repo.putTree({ entries: [dirEntry('d', missing)] })).rejects.toThrow(/refers to [0-9a-f]{64}, which is not stored/);
    await expect(repo.putBlob(Buffer.alloc(CONTENT_CHUNK_BYTES + 1))).rejects.toThrow(RepositoryInputError);
    await repo.close();
  });

  it('stores a tree from runs of encoded entries under the id putTree gives it, checking every run for missing children', async () => {
    const repo = await Repository.open(await temp.make());
    const blob = await repo.putBlob(Buffer.from('x'));
    const sub = await repo.putTree({ entries: [fifoEntry('p')] });
    const entries = [dirEntry('d', sub.id), fileEntry('f', { sha256: blob.id, chunks: [blob.id] }, 1n), fifoEntry('g')];
    const fromParts = await repo.putTreeParts([EncodedEntries.encode(entries.slice(0, 1)), EncodedEntries.encode(entries.slice(1))]);
    expect(fromParts.stored).toBe(true);
    expect(await repo.readTree(fromParts.id)).toEqual({ entries });
    expect(await repo.putTree({ entries })).toEqual({ id: fromParts.id, stored: false });
    const missing = sha256(Buffer.from('never stored'));
    const parts = [EncodedEntries.encode([fifoEntry('a')]), EncodedEntries.encode([fileEntry('b', { sha256: missing, chunks: [missing] }, 1n)])];
    await expect(repo.putTreeParts(parts)).rejects.toThrow(/"b" refers to [0-9a-f]{64}, which is not stored/);
    // A run refused once is checked again (not remembered as checked), and accepted once its child is stored.
    await expect(repo.putTreeParts(parts.slice(1))).rejects.toThrow(/which is not stored/);
    expect((await repo.putBlob(Buffer.from('never stored'))).id).toEqual(missing);
    expect((await repo.putTreeParts(parts)).stored).toBe(true);
    await repo.close();
  });

  it('stores trees from runs larger than a copy by reference and than a segment, readable pending, flushed and reopened', async () => {
    const dir = await temp.make();
    const repo = await Repository.open(dir);
    const blob = await repo.putBlob(Buffer.from('shared content'));
    const content = { sha256: blob.id, chunks: [blob.id] };
    const trees: Array<{ id: Buffer; encoded: Buffer }> = [];
    // About 300 KiB (above the by-reference size) and about 6 MiB (above a segment), cut into runs of 1000.
    for (const count of [1_000, 20_000]) {
      const entries = Array.from({ length: count }, (_, i) => fileEntry(`${'long-name-'.repeat(15)}${String(i).padStart(6, '0')}`, content, 14n));
      const runs = [];
      for (let at = 0; at < count; at += 1_000) runs.push(EncodedEntries.encode(entries.slice(at, at + 1_000)));
      const encoded = encodeTree({ entries });
      const { id, stored } = await repo.putTreeParts(runs);
      expect(stored).toBe(true);
      expect(id).toEqual(sha256(encoded));
      expect(encodeTree(await repo.readTree(id)).equals(encoded)).toBe(true);
      trees.push({ id, encoded });
    }
    expect((trees[1] as { encoded: Buffer }).encoded.length).toBeGreaterThan(4 * 1024 * 1024);
    await repo.flush();
    for (const { id, encoded } of trees) expect(encodeTree(await repo.readTree(id)).equals(encoded)).toBe(true);
    await repo.close();
    const again = await Repository.open(dir);
    expect(again.recovered).toEqual([]);
    for (const { id, encoded } of trees) expect(encodeTree(await again.readTree(id)).equals(encoded)).toBe(true);
    await again.close();
  }, 30_000);

  it('takes entries carried over from a tree it stored without looking up their children, but not those of another repository', async () => {
    const repo = await Repository.open(await temp.make());
    const other = await Repository.open(await temp.make());
    const blob = await repo.putBlob(Buffer.from('x'));
    const entries = [fileEntry('f', { sha256: blob.id, chunks: [blob.id] }, 1n), fifoEntry('g')];
    const first = await repo.putTree({ entries });
    const read = await repo.readTree(first.id);
    const carried = read.entries.map((_, i) => storedEntry(read, i));
    expect(await repo.putTreeParts([EncodedEntries.encode(carried)])).toEqual({ id: first.id, stored: false });
    await expect(other.putTreeParts([EncodedEntries.encode(carried)])).rejects.toThrow(/"f" refers to [0-9a-f]{64}, which is not stored/);
    await other.close();
    await repo.close();
  });

  it('reads a blob into memory given for it when it fits (pending or on disk), into a new buffer otherwise, verified either way', async () => {
    const repo = await Repository.open(await temp.make());
    const data = Buffer.from('some bytes of a chunk');
    const { id } = await repo.putBlob(data);
    for (const stage of ['pending', 'flushed']) {
      if (stage === 'flushed') await repo.flush();
      const memory = Buffer.alloc(64, 0xee);
      const read = await repo.readBlob(id, { into: memory.subarray(8) });
      expect(read).toEqual(data);
      expect(read.buffer).toBe(memory.buffer);
      expect(read.byteOffset).toBe(memory.byteOffset + 8);
      expect(memory[8 + data.length]).toBe(0xee);
      const small = Buffer.alloc(4);
      const elsewhere = await repo.readBlob(id, { into: small });
      expect(elsewhere).toEqual(data);
      expect(small).toEqual(Buffer.alloc(4));
    }
    await repo.close();
  });

  it('rolls over to a new pack past the target size and indexes every sealed pack', async () => {
    const dir = await temp.make();
    const repo = await Repository.open(dir, { packTargetBytes: 256 * 1024 });
    const ids = [];
    for (let i = 0; i < 40; i++) ids.push((await repo.putBlob(Buffer.alloc(20_000, i))).id);
    await repo.flush();
    for (const [i, id] of ids.entries()) expect((await repo.readBlob(id))[0]).toBe(i);
    await repo.close();
    const packs = await packFiles(dir, '.pack');
    expect(packs.length).toBeGreaterThanOrEqual(3);
    expect((await packFiles(dir, '.idx')).length).toBe(packs.length);
    const again = await Repository.open(dir);
    expect(again.recovered).toEqual([]);
    expect(again.objectCount).toBe(40);
    for (const [i, id] of ids.entries()) expect((await again.readBlob(id))[0]).toBe(i);
    await again.close();
  });

  it('keeps every object of many concurrent put-then-flush callers', async () => {
    const dir = await temp.make();
    const repo = await Repository.open(dir);
    const puts = Array.from({ length: 200 }, (_, i) => repo.putBlob(Buffer.from(`object ${i}`)).then(() => repo.flush()));
    await Promise.all(puts);
    await repo.close();
    const again = await Repository.open(dir);
    expect(again.objectCount).toBe(200);
    await again.close();
  });

  it('refuses a second open while the first holds the lock, and takes over a dead owner’s lock', async () => {
    const dir = await temp.make();
    const first = await Repository.open(dir);
    await expect(Repository.open(dir)).rejects.toThrow(RepositoryLockedError);
    await expect(Repository.open(dir)).rejects.toThrow(`held by live pid ${process.pid}`);
    await first.close();

    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    await writeFile(join(dir, 'lock'), JSON.stringify({ pid: Number(dead.stdout), host: hostname(), token: 'old', since: 'then' }));
    const second = await Repository.open(dir);
    expect(JSON.parse(await readFile(join(dir, 'lock'), 'utf8'))).toMatchObject({ pid: process.pid });
    await second.close();
    await expect(stat(join(dir, 'lock'))).rejects.toThrow(/ENOENT/);
  });

  it('refuses a lock held on another host, and takes over an old unreadable lock', async () => {
    const dir = await temp.make();
    await (await Repository.open(dir)).close();
    await writeFile(join(dir, 'lock'), JSON.stringify({ pid: 1, host: 'elsewhere', token: 't', since: 'then' }));
    await expect(Repository.open(dir)).rejects.toThrow(/pid 1 on host elsewhere .* remove the lock file/);
    await writeFile(join(dir, 'lock'), '');
    await expect(Repository.open(dir)).rejects.toThrow(/taking the lock right now/);
    const longAgo = new Date(Date.now() - 60_000);
    await utimes(join(dir, 'lock'), longAgo, longAgo);
    await (await Repository.open(dir)).close();
  });

  it('refuses to turn a non-empty folder into a repository', async () => {
    const dir = await temp.make();
    await writeFile(join(dir, 'precious.txt'), 'data');
    await expect(Repository.open(dir)).rejects.toThrow(RepositoryFormatError);
    await expect(Repository.open(dir)).rejects.toThrow(/precious\.txt/);
    await expect(stat(join(dir, 'lock'))).rejects.toThrow(/ENOENT/);
  });

  it('refuses further writes after a failed pack write, until reopened', async () => {
    const dir = await temp.make();
    const repo = await Repository.open(dir);
    // Injected fault: the packs folder is replaced by a file, so creating the pack fails.
    await rm(join(dir, 'packs'), { recursive: true });
    await writeFile(join(dir, 'packs'), 'not a folder');
    await repo.putBlob(Buffer.from('doomed'));
    await expect(repo.flush()).rejects.toThrow(RepositoryIoError);
    await expect(repo.putBlob(Buffer.from('after'))).rejects.toThrow(/reopen the repository/);
    await expect(repo.close()).rejects.toThrow(RepositoryIoError);
    await expect(stat(join(dir, 'lock'))).rejects.toThrow(/ENOENT/);
  });

  it('opens read-only beside a writer and refuses writes there', async () => {
    const dir = await temp.make();
    const writer = await Repository.open(dir);
    const blob = await writer.putBlob(Buffer.from('shared'));
    await writer.flush();
    const reader = await Repository.open(dir, { readOnly: true });
    expect((await reader.readBlob(blob.id)).toString()).toBe('shared');
    await expect(reader.putBlob(Buffer.from('no'))).rejects.toThrow(RepositoryNotWritableError);
    await reader.close();
    await writer.close();
    await expect(writer.putBlob(Buffer.from('closed'))).rejects.toThrow(/closed/);
  });

  it('walks trees in pre-order, resolves paths and streams file content in chunk order', async () => {
    const repo = await Repository.open(await temp.make());
    const big = Buffer.alloc(CONTENT_CHUNK_BYTES * 2 + 123);
    for (let i = 0; i < big.length; i += 4096) big[i] = (i / 4096) & 0xff;
    const writer = repo.createContentWriter();
    for (let at = 0; at < big.length; at += 300_000) await writer.write(big.subarray(at, at + 300_000));
    const written = await writer.finish();
    expect(written.size).toBe(BigInt(big.length));
    expect(written.content.chunks).toHaveLength(3);
    expect(written.content.sha256.equals(chunkListHash(written.content.chunks, big.length))).toBe(true);
    expect(written.content.chunks.map((id) => id.toString('hex'))).toEqual([0, 1, 2].map((i) => sha256(big.subarray(i * CONTENT_CHUNK_BYTES, (i + 1) * CONTENT_CHUNK_BYTES)).toString('hex')));

    const deep = await repo.putTree({ entries: [fileEntry('big', written.content, written.size)] });
    const mid = await repo.putTree({ entries: [dirEntry('deep', deep.id), fifoEntry('z')] });
    const root = await repo.putTree({ entries: [fifoEntry('a'), dirEntry('mid', mid.id)] });
    const paths = [];
    for await (const item of repo.walkTree(root.id)) paths.push(`${item.depth}:${item.path.toString()}`);
    expect(paths).toEqual(['1:a', '1:mid', '2:mid/deep', '3:mid/deep/big', '2:mid/z']);

    const found = await repo.resolvePath(root.id, Buffer.from('/mid/deep/big'));
    expect(found?.type).toBe(TreeEntryType.File);
    expect(await repo.resolvePath(root.id, Buffer.from('/mid/nope'))).toBeNull();
    expect(await repo.resolvePath(root.id, Buffer.from('/a/below-a-fifo'))).toBeNull();
    expect((await repo.resolvePath(root.id, Buffer.from('/')))?.subtree?.equals(root.id)).toBe(true);
    await expect(repo.resolvePath(root.id, Buffer.from('/mid/../etc'))).rejects.toThrow(/'\.' or '\.\.'/);

    const pieces = [];
    for await (const piece of repo.readFileContent(found!.content!)) pieces.push(piece);
    expect(Buffer.concat(pieces).equals(big)).toBe(true);
    await repo.close();
  });

  it('hashes a small file once: its whole-file SHA-256 is its only chunk id, and dedup shows in bytesStored', async () => {
    const repo = await Repository.open(await temp.make());
    const first = repo.createContentWriter();
    await first.write(Buffer.from('abc'));
    await first.write(Buffer.from('def'));
    const a = await first.finish();
    expect(a.content.sha256.equals(sha256(Buffer.from('abcdef')))).toBe(true);
    expect(a.content.chunks.map((c) => c.toString('hex'))).toEqual([a.content.sha256.toString('hex')]);
    expect(a.bytesStored).toBe(6);
    const second = repo.createContentWriter();
    await second.write(Buffer.from('abcdef'));
    expect((await second.finish()).bytesStored).toBe(0);
    const empty = await repo.createContentWriter().finish();
    expect(empty).toEqual({ content: { sha256: sha256(Buffer.alloc(0)), chunks: [] }, size: 0n, bytesStored: 0 });
    await repo.close();
  });
});
