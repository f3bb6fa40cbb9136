import { spawn, spawnSync } from 'node:child_process';
import { appendFile, cp, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { sha256 } from '../ids';
import { Repository } from '../repository';
import { crashBlob } from '../../test/fixtures/crash-writer-blobs';
import { flipBits, tempDirs } from '../../test/support';
import { ObjectKind, writeRecordHeader, RECORD_HEADER_BYTES } from './pack-format';

const temp = tempDirs();
afterEach(() => temp.cleanup());

async function filesIn(root: string, ext: string): Promise<string[]> {
  const out: string[] = [];
  for (const shard of await readdir(join(root, 'packs'))) {
    for (const name of await readdir(join(root, 'packs', shard))) if (name.endsWith(ext)) out.push(join(root, 'packs', shard, name));
  }
  return out.sort();
}

/** What the disk holds after a crash right after flush(): the same files, the owner's pid dead. */
async function crashImage(repo: Repository, into: string): Promise<void> {
  await cp(repo.root, into, { recursive: true });
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  await writeFile(join(into, 'lock'), JSON.stringify({ pid: Number(dead.stdout), host: hostname(), token: 'crashed', since: 'before' }));
}

async function flushedRepository(count: number): Promise<{ repo: Repository; blobs: Buffer[] }> {
  const repo = await Repository.open(await temp.make());
  const blobs = Array.from({ length: count }, (_, i) => Buffer.from(`flushed object ${i} `.repeat(i + 1)));
  for (const blob of blobs) await repo.putBlob(blob);
  await repo.flush();
  return { repo, blobs };
}

describe('crash recovery of packs', () => {
  it('keeps flushed objects and cuts a torn record off the tail of a pack left without an index', async () => {
    const { repo, blobs } = await flushedRepository(100);
    const image = join(await temp.make(), 'image');
    await crashImage(repo, image);
    await repo.close();
    const [pack] = await filesIn(image, '.pack');
    expect(await filesIn(image, '.idx')).toEqual([]);
    const flushedSize = (await stat(pack!)).size;
    // A record whose header made it to disk but only half of its data did.
    const data = Buffer.alloc(10_000, 1);
    const torn = Buffer.alloc(RECORD_HEADER_BYTES + 5_000);
    writeRecordHeader(torn, 0, ObjectKind.Blob, sha256(data), data.length);
    data.copy(torn, RECORD_HEADER_BYTES, 0, 5_000);
    await appendFile(pack!, torn);

    const recovered = await Repository.open(image);
    expect(recovered.recovered).toEqual([expect.objectContaining({ bytesDropped: torn.length })]);
    expect(recovered.objectCount).toBe(100);
    for (const blob of blobs) expect((await recovered.readBlob(sha256(blob))).equals(blob)).toBe(true);
    expect(recovered.has(sha256(data))).toBe(false);
    expect((await stat(pack!)).size).toBe(flushedSize);
    expect(await filesIn(image, '.idx')).toHaveLength(1);
    // Writing goes on in a new pack; the recovered one is sealed.
    await recovered.putBlob(data);
    await recovered.close();
    const again = await Repository.open(image);
    expect(again.recovered).toEqual([]);
    expect(again.objectCount).toBe(101);
    await again.close();
  });

  it('cuts random garbage after the last record, and stops at a damaged record in the middle', async () => {
    const { repo, blobs } = await flushedRepository(50);
    const image = join(await temp.make(), 'image');
    await crashImage(repo, image);
    await repo.close();
    const [pack] = await filesIn(image, '.pack');
    await appendFile(pack!, Buffer.from('this is not a record header, just leftovers of a crash'));
    const withGarbage = await Repository.open(image);
    expect(withGarbage.objectCount).toBe(50);
    expect(withGarbage.recovered[0]?.problem).toMatch(/checksum mismatch|torn/);
    await withGarbage.close();

    // Damage the data of record 30 in a pack that has no index: records from there on are not trusted.
    const image2 = join(await temp.make(), 'image2');
    const reader = await Repository.open(image, { readOnly: true });
    await crashImage(reader, image2);
    await reader.close();
    const [pack2] = await filesIn(image2, '.pack');
    await rm(pack2!.replace(/\.pack$/, '.idx'));
    const bytes = await readFile(pack2!);
    const at = bytes.indexOf(Buffer.from('flushed object 30 '));
    flipBits(bytes, at, 0xff);
    await writeFile(pack2!, bytes);
    const damaged = await Repository.open(image2);
    expect(damaged.recovered[0]?.problem).toMatch(/does not match its id/);
    expect(damaged.objectCount).toBe(30);
    for (const blob of blobs.slice(0, 30)) expect((await damaged.readBlob(sha256(blob))).equals(blob)).toBe(true);
    expect(damaged.has(sha256(blobs[30]!))).toBe(false);
    await damaged.close();
  });

  it('removes a pack that never got past its header, and rescans a pack whose index is damaged', async () => {
    const { repo, blobs } = await flushedRepository(20);
    await repo.close();
    const root = repo.root;
    const [idx] = await filesIn(root, '.idx');
    const goodIndex = await readFile(idx!);
    const damagedIndex = Buffer.from(goodIndex);
    flipBits(damagedIndex, 40, 0x01);
    await writeFile(idx!, damagedIndex);
    const headerOnly = join(root, 'packs', 'ab', `${'ab'.padEnd(32, '0')}.pack`);
    await mkdir(join(root, 'packs', 'ab'), { recursive: true });
    await writeFile(headerOnly, Buffer.from('BRTHPA'));

    const reopened = await Repository.open(root);
    expect(reopened.objectCount).toBe(20);
    for (const blob of blobs) expect((await reopened.readBlob(sha256(blob))).equals(blob)).toBe(true);
    await expect(stat(headerOnly)).rejects.toThrow(/ENOENT/);
    // The pack was scanned and its index written again from what the scan found.
    expect((await readFile(idx!)).equals(goodIndex)).toBe(true);
    await reopened.close();
  });

  it('removes leftovers of interrupted atomic writes from tmp/ on open', async () => {
    const { repo } = await flushedRepository(1);
    await writeFile(join(repo.root, 'tmp', 'config.json.abc.tmp'), 'half-written');
    await repo.close();
    const reopened = await Repository.open(repo.root);
    expect(await readdir(join(repo.root, 'tmp'))).toEqual([]);
    await reopened.close();
  });

  it('survives kill -9 in the middle of writing: everything a flush returned for is there, nothing is corrupt', async () => {
    const dir = join(await temp.make(), 'repo');
    const child = spawn(process.execPath, ['-r', require.resolve('@swc-node/register'), join(__dirname, '../../test/fixtures/crash-writer.ts'), dir], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let durable = 0;
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    for await (const line of createInterface({ input: child.stdout })) {
      const match = /^durable (\d+)$/.exec(line);
      if (match) durable = Math.max(durable, Number(match[1]));
      // Several packs sealed (2 MiB each), and one more flush under way.
      if (durable >= 3000) {
        child.kill('SIGKILL');
        break;
      }
    }
    expect(await exited).toBe('SIGKILL');

    const repo = await Repository.open(dir);
    expect(repo.objectCount).toBeGreaterThanOrEqual(durable);
    for (let i = 0; i < durable; i++) {
      const blob = crashBlob(i);
      expect((await repo.readBlob(sha256(blob))).equals(blob)).toBe(true);
    }
    // Past the last acknowledged flush, whatever is indexed must read back intact.
    let present = 0;
    for (let i = durable, misses = 0; misses < 500; i++) {
      const blob = crashBlob(i);
      if (!repo.has(sha256(blob))) {
        misses++;
        continue;
      }
      present++;
      expect((await repo.readBlob(sha256(blob))).equals(blob)).toBe(true);
    }
    expect(repo.objectCount).toBe(durable + present);
    await repo.close();
    const again = await Repository.open(dir);
    expect(again.recovered).toEqual([]);
    expect(again.objectCount).toBe(durable + present);
    await again.close();
  }, 30_000);
});
