import { spawnSync } from 'node:child_process';
import { cp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { sha256 } from './ids';
import { type FileContent, type ObjectId } from './model';
import { RECORD_HEADER_BYTES } from './pack/pack-format';
import { PackStore } from './pack/pack-store';
import { Repository } from './repository';
import { dirEntry, fileEntry, flipBits, tempDirs } from '../test/support';

const temp = tempDirs();
afterEach(() => temp.cleanup());

async function packFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const shard of await readdir(join(root, 'packs'))) {
    for (const name of await readdir(join(root, 'packs', shard))) if (name.endsWith('.pack')) out.push(join(root, 'packs', shard, name));
  }
  return out;
}

const oneChunk = (blob: Buffer): FileContent => ({ sha256: sha256(blob), chunks: [sha256(blob)] });

/**
 * A repository holding three one-chunk files in a tree `sub` below a root tree, flushed, then copied as a crash
 * leaves it (no index for the open pack, the owner dead), with the record of the middle file's chunk changed by
 * `damage` (or untouched).
 */
async function crashedWithTree(damage: 'middle-blob' | 'tail' | 'none'): Promise<{ image: string; blobs: Buffer[]; sub: ObjectId; root: ObjectId }> {
  const repo = await Repository.open(await temp.make());
  const blobs = ['alpha', 'bravo', 'charlie'].map((word) => Buffer.from(`${word} `.repeat(100)));
  for (const blob of blobs) await repo.putBlob(blob);
  const sub = (await repo.putTree({ entries: blobs.map((blob, i) => fileEntry(`file-${i}`, oneChunk(blob), BigInt(blob.length))) })).id;
  const root = (await repo.putTree({ entries: [dirEntry('sub', sub)] })).id;
  await repo.flush();
  const image = join(await temp.make(), 'image');
  await cp(repo.root, image, { recursive: true });
  await repo.close();
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  await writeFile(join(image, 'lock'), JSON.stringify({ pid: Number(dead.stdout), host: hostname(), token: 'crashed', since: 'before' }));
  const [pack] = await packFiles(image);
  const bytes = await readFile(pack!);
  if (damage === 'middle-blob') flipBits(bytes, bytes.indexOf(blobs[1]!) + 10, 0x04);
  const tail = damage === 'tail' ? Buffer.from('leftovers of a write the crash interrupted') : Buffer.alloc(0);
  await writeFile(pack!, Buffer.concat([bytes, tail]));
  return { image, blobs, sub, root };
}

describe('a crash recovery that keeps records after a damaged one', () => {
  it('is recorded durably, and from then on trees are checked in full and lost objects are found', async () => {
    const { image, blobs, sub, root } = await crashedWithTree('middle-blob');
    const repo = await Repository.open(image);
    expect(repo.recovered).toEqual([expect.objectContaining({ damagedSpans: 1, objectsKept: 4, bytesDropped: RECORD_HEADER_BYTES + blobs[1]!.length })]);
    const damage = repo.damage;
    expect(damage).toEqual({ id: expect.stringMatching(/^[0-9a-f]{16}$/) as string, at: expect.any(String) as string, packs: [repo.recovered[0]!.pack] });
    expect(JSON.parse(await readFile(join(image, 'damage.json'), 'utf8'))).toEqual(damage);

    // The trees were kept; the chunk between them was lost.
    expect(repo.has(sub) && repo.has(root)).toBe(true);
    expect(repo.hasAll([sha256(blobs[0]!), sha256(blobs[2]!)])).toBe(true);
    expect(repo.hasAll([sha256(blobs[0]!), sha256(blobs[1]!)])).toBe(false);
    expect(await repo.subtreeStored(root)).toBe(false);
    expect(await repo.subtreeStored(sub)).toBe(false);
    // Entries read back from the repository are no longer trusted as they stand: the lost chunk is named.
    const stored = await repo.readTree(sub);
    await expect(repo.putTree({ entries: stored.entries.slice(0, 2) })).rejects.toThrow(`tree entry "file-1" refers to ${sha256(blobs[1]!).toString('hex')}, which is not stored`);
    await expect(repo.putTree({ entries: [stored.entries[0]!, stored.entries[2]!] })).resolves.toEqual(expect.objectContaining({ stored: true }));

    // Stored again, the content makes the old trees whole.
    await repo.putBlob(blobs[1]!);
    expect(await repo.subtreeStored(root)).toBe(true);
    await repo.close();

    // The pack now has an index, so the next open recovers nothing, and still knows.
    const reopened = await Repository.open(image);
    expect(reopened.recovered).toEqual([]);
    expect(reopened.damage).toEqual(damage);
    await reopened.close();
  });

  it('is not what a torn tail is: cutting it keeps a prefix, and nothing kept refers to what was cut', async () => {
    const { image, root } = await crashedWithTree('tail');
    const repo = await Repository.open(image);
    expect(repo.recovered).toEqual([expect.objectContaining({ damagedSpans: 0 })]);
    expect(repo.damage).toBeNull();
    expect(await repo.subtreeStored(root)).toBe(true);
    await repo.close();
  });

  it('is seen by a read-only open, which records nothing; the next writable open records it', async () => {
    const { image, sub } = await crashedWithTree('middle-blob');
    const reader = await Repository.open(image, { readOnly: true });
    expect(reader.damage).toEqual({ id: 'unrecorded', at: expect.any(String) as string, packs: [reader.recovered[0]!.pack] });
    expect(await reader.subtreeStored(sub)).toBe(false);
    await reader.close();
    await expect(stat(join(image, 'damage.json'))).rejects.toThrow(/ENOENT/);
    const writer = await Repository.open(image);
    expect(writer.damage?.id).toMatch(/^[0-9a-f]{16}$/);
    await writer.close();
  });

  it('is recorded before the pack is cut or indexed: when recording fails, the open fails and the next one recovers again', async () => {
    const { image } = await crashedWithTree('middle-blob');
    const failing = PackStore.open(join(image, 'packs'), join(image, 'tmp'), {
      readOnly: false,
      packTargetBytes: 1 << 20,
      maxUnwrittenBytes: 1 << 20,
      syncBehindBytes: 0,
      syncBehindMs: 0,
      onDamagedPack: () => Promise.reject(new Error('ENOSPC: no space left on device, write')),
    });
    await expect(failing).rejects.toThrow('ENOSPC');
    const [pack] = await packFiles(image);
    await expect(stat(pack!.replace(/\.pack$/, '.idx'))).rejects.toThrow(/ENOENT/);
    const repo = await Repository.open(image);
    expect(repo.recovered).toEqual([expect.objectContaining({ damagedSpans: 1, damaging: true })]);
    expect(repo.damage).not.toBeNull();
    await repo.close();
  });

  it('gets a new id at each damaging recovery, the packs listed oldest first', async () => {
    const { image } = await crashedWithTree('middle-blob');
    const first = await Repository.open(image);
    const firstDamage = first.damage!;
    // More content in a new pack, then a fault in it too: its index is lost and one record damaged.
    const more = Buffer.from('delta '.repeat(100));
    await first.putBlob(more);
    await first.putBlob(Buffer.from('echo '.repeat(100)));
    await first.close();
    const packs = await packFiles(image);
    const second = packs.find((path) => !path.includes(firstDamage.packs[0]!))!;
    const bytes = await readFile(second);
    flipBits(bytes, bytes.indexOf(more) + 5, 0x01);
    await writeFile(second, bytes);
    await rm(second.replace(/\.pack$/, '.idx'));
    const again = await Repository.open(image);
    expect(again.recovered).toEqual([expect.objectContaining({ damagedSpans: 1, damaging: true })]);
    expect(again.damage?.id).not.toBe(firstDamage.id);
    expect(again.damage?.packs).toEqual([...firstDamage.packs, again.recovered[0]!.pack]);
    await again.close();
  });

  it('is what a cut of a sealed pack shorter than its index is: no crash explains it', async () => {
    const repo = await Repository.open(await temp.make());
    const blobs = Array.from({ length: 10 }, (_, i) => Buffer.from(`sealed object ${i} `.repeat(50)));
    for (const blob of blobs) await repo.putBlob(blob);
    await repo.close();
    const [pack] = await packFiles(repo.root);
    const bytes = await readFile(pack!);
    // The file lost its last record and a half (a fault of the disk or file system, not a crash: it was sealed).
    await writeFile(pack!, bytes.subarray(0, bytes.indexOf(blobs[8]!) + 100));
    const reopened = await Repository.open(repo.root);
    expect(reopened.recovered).toEqual([expect.objectContaining({ damagedSpans: 0, objectsKept: 8, damaging: true })]);
    expect(reopened.damage).not.toBeNull();
    await reopened.close();
  });

  it('treats an unreadable damage record as damage, under an id of its own that it keeps', async () => {
    const { image } = await crashedWithTree('none');
    await writeFile(join(image, 'damage.json'), '{"id": "torn');
    const repo = await Repository.open(image);
    expect(repo.recovered).toEqual([]);
    const damage = repo.damage;
    expect(damage).toEqual({ id: expect.stringMatching(/^[0-9a-f]{16}$/) as string, at: expect.any(String) as string, packs: [] });
    await repo.close();
    // Replaced by a readable record: the id holds from then on.
    const reopened = await Repository.open(image);
    expect(reopened.damage).toEqual(damage);
    await reopened.close();
  });
});
