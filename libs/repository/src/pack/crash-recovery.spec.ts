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
    expect(recovered.recovered).toEqual([expect.objectContaining({ bytesDropped: torn.length, damaging: false })]);
    expect(recovered.damage).toBeNull();
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

  it('cuts random garbage after the last record', async () => {
    const { repo } = await flushedRepository(50);
    const image = join(await temp.make(), 'image');
    await crashImage(repo, image);
    await repo.close();
    const [pack] = await filesIn(image, '.pack');
    const flushedSize = (await stat(pack!)).size;
    const garbage = Buffer.from('this is not a record header, just leftovers of a crash');
    await appendFile(pack!, garbage);
    const withGarbage = await Repository.open(image);
    expect(withGarbage.objectCount).toBe(50);
    expect(withGarbage.recovered).toEqual([expect.objectContaining({ bytesDropped: garbage.length, damagedSpans: 0, objectsKept: 50, damaging: false })]);
    expect(withGarbage.recovered[0]?.problem).toBe(`record header checksum mismatch at byte ${flushedSize} (tail of ${garbage.length} bytes cut off)`);
    expect((await stat(pack!)).size).toBe(flushedSize);
    await withGarbage.close();
  });

  /** A copy of a flushed repository of `count` blobs whose pack has no index and was changed by `damage`. */
  async function damagedImage(count: number, damage: (pack: Buffer) => void): Promise<{ image: string; pack: string; blobs: Buffer[]; size: number }> {
    const { repo, blobs } = await flushedRepository(count);
    const image = join(await temp.make(), 'image');
    await crashImage(repo, image);
    await repo.close();
    const [pack] = await filesIn(image, '.pack');
    const bytes = await readFile(pack!);
    damage(bytes);
    await writeFile(pack!, bytes);
    return { image, pack: pack!, blobs, size: bytes.length };
  }

  /** Offset of the record header of blob `i` of flushedRepository. */
  function recordOf(bytes: Buffer, i: number): number {
    return bytes.indexOf(Buffer.from(`flushed object ${i} `)) - RECORD_HEADER_BYTES;
  }

  it('skips a record whose data is damaged and keeps every intact record after it', async () => {
    let damagedAt = 0;
    const { image, pack, blobs, size } = await damagedImage(50, (bytes) => {
      damagedAt = recordOf(bytes, 30);
      flipBits(bytes, damagedAt + RECORD_HEADER_BYTES, 0xff);
    });
    const damaged = await Repository.open(image);
    expect(damaged.recovered).toEqual([
      {
        pack: expect.stringMatching(/^[0-9a-f]{32}$/) as string,
        problem: `record at byte ${damagedAt} does not match its id ${sha256(blobs[30]!).toString('hex')} (${RECORD_HEADER_BYTES + blobs[30]!.length} bytes without an intact record)`,
        bytesDropped: RECORD_HEADER_BYTES + blobs[30]!.length,
        damagedSpans: 1,
        objectsKept: 49,
        damaging: true,
      },
    ]);
    expect(damaged.objectCount).toBe(49);
    expect(damaged.has(sha256(blobs[30]!))).toBe(false);
    for (const blob of blobs.filter((_, i) => i !== 30)) expect((await damaged.readBlob(sha256(blob))).equals(blob)).toBe(true);
    // Nothing was cut: the damaged record stays in the file, unindexed, and the index covers the whole pack.
    expect((await stat(pack)).size).toBe(size);
    // The lost content is stored again when it comes back, in a new pack.
    await damaged.putBlob(blobs[30]!);
    await damaged.close();
    const again = await Repository.open(image);
    expect(again.recovered).toEqual([]);
    expect(again.objectCount).toBe(50);
    expect((await again.readBlob(sha256(blobs[30]!))).equals(blobs[30]!)).toBe(true);
    await again.close();
  });

  it('finds the next intact record after a damaged record header, and after a damaged pack header', async () => {
    let headerAt = 0;
    let nextAt = 0;
    const { image, blobs } = await damagedImage(50, (bytes) => {
      headerAt = recordOf(bytes, 20);
      nextAt = recordOf(bytes, 21);
      // The length field: the CRC no longer holds, so where the record ends is unknown.
      flipBits(bytes, headerAt + 35, 0x40);
      flipBits(bytes, 3, 0x01);
    });
    const damaged = await Repository.open(image);
    expect(damaged.recovered).toHaveLength(1);
    expect(damaged.recovered[0]).toMatchObject({ bytesDropped: 16 + nextAt - headerAt, damagedSpans: 2, objectsKept: 49 });
    expect(damaged.recovered[0]!.problem).toBe(
      `not a pack file (bad magic) (16 bytes without an intact record); record header checksum mismatch at byte ${headerAt} (${nextAt - headerAt} bytes without an intact record)`,
    );
    expect(damaged.has(sha256(blobs[20]!))).toBe(false);
    for (const blob of blobs.filter((_, i) => i !== 20)) expect((await damaged.readBlob(sha256(blob))).equals(blob)).toBe(true);
    await damaged.close();
  });

  it('cuts a tail that holds no intact record, even when damaged records lie before it', async () => {
    let firstLost = 0;
    const { image, pack, blobs } = await damagedImage(40, (bytes) => {
      firstLost = recordOf(bytes, 35);
      for (const i of [35, 37, 39]) flipBits(bytes, recordOf(bytes, i) + RECORD_HEADER_BYTES, 0x20);
      // Records 36 and 38 lose their headers (zeroed, as a write that never reached the disk leaves them).
      for (const i of [36, 38]) bytes.fill(0, recordOf(bytes, i), recordOf(bytes, i) + RECORD_HEADER_BYTES);
    });
    const size = (await stat(pack)).size;
    const damaged = await Repository.open(image);
    expect(damaged.recovered[0]).toMatchObject({ bytesDropped: size - firstLost, damagedSpans: 0, objectsKept: 35 });
    expect(damaged.recovered[0]!.problem).toMatch(new RegExp(`^record at byte ${firstLost} does not match its id [0-9a-f]{64} \\(tail of ${size - firstLost} bytes cut off\\)$`));
    expect((await stat(pack)).size).toBe(firstLost);
    expect(damaged.objectCount).toBe(35);
    for (const blob of blobs.slice(0, 35)) expect((await damaged.readBlob(sha256(blob))).equals(blob)).toBe(true);
    await damaged.close();
  });

  it('keeps the records after a damaged one in a sealed pack whose index was lost', async () => {
    const { repo, blobs } = await flushedRepository(30);
    await repo.close();
    const [pack] = await filesIn(repo.root, '.pack');
    const [idx] = await filesIn(repo.root, '.idx');
    await rm(idx!);
    const bytes = await readFile(pack!);
    flipBits(bytes, recordOf(bytes, 10) + RECORD_HEADER_BYTES + 3, 0x01);
    await writeFile(pack!, bytes);
    const reopened = await Repository.open(repo.root);
    expect(reopened.recovered[0]).toMatchObject({ damagedSpans: 1, objectsKept: 29 });
    expect(reopened.objectCount).toBe(29);
    for (const blob of blobs.filter((_, i) => i !== 10)) expect((await reopened.readBlob(sha256(blob))).equals(blob)).toBe(true);
    await reopened.close();
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
