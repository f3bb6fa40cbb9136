import { alignedBlockLength, encodeSignature, MAX_STRONG_LENGTH, signature } from '@berth/delta';
import { CONTENT_CHUNK_BYTES, type ObjectId } from '@berth/repository';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignatureCache, VersionSignature } from './signature-cache';

const MiB = CONTENT_CHUNK_BYTES;
const GiB = 1024 * MiB;
const idOf = (data: Buffer): ObjectId => createHash('sha256').update(data).digest();
const chunksOf = (file: Buffer): Buffer[] => Array.from({ length: Math.ceil(file.length / MiB) }, (_, i) => file.subarray(i * MiB, (i + 1) * MiB));

/** A chunk's bytes as a ChunkObserver hands them over, counting reads. */
function lazy(data: Buffer, reads: number[] = []): () => Promise<Buffer> {
  return () => (reads.push(data.length), Promise.resolve(data));
}

describe('VersionSignature', () => {
  it('assembles the signature of a file from its chunks: signed, or taken from the basis by id', async () => {
    const basisFile = randomBytes(6 * MiB + 4321);
    const block = alignedBlockLength(basisFile.length);
    const basisSig = await signature(basisFile, { blockLength: block, strongLength: MAX_STRONG_LENGTH });
    // The new version: chunks 0-1 and 3-5 as before, chunk 2 edited, a longer tail.
    const next = Buffer.concat([basisFile.subarray(0, 6 * MiB), randomBytes(9000)]);
    randomBytes(4096).copy(next, 2 * MiB + 100);
    const version = new VersionSignature(block, { signature: basisSig, chunks: chunksOf(basisFile).map(idOf) });
    // As a delta rebuilds it: the unchanged chunks copied whole (stored), the edited one and the tail written.
    const reads: number[] = [];
    for (const [index, chunk] of chunksOf(next).entries()) await version.add(lazy(chunk, reads), idOf(chunk), index !== 2 && index < 6);
    expect(version.failed).toBe(false);
    // Only the edited chunk and the tail were read: the copied ones took the basis's blocks.
    expect(reads).toEqual([MiB, 9000]);
    expect(version.copied).toBe(5);
    expect(version.bytes).toBe(next.length);
    expect(encodeSignature(version.finish())).toEqual(encodeSignature(await signature(next, { blockLength: block, strongLength: MAX_STRONG_LENGTH })));
  });

  it('signs a chunk equal to a basis chunk that was not copied whole, so a wrong basis signature is not carried over', async () => {
    const file = randomBytes(3 * MiB);
    const basisSig = await signature(file, { blockLength: 4096, strongLength: MAX_STRONG_LENGTH });
    basisSig.weak[1] = (basisSig.weak[1] as number) ^ 1;
    const version = new VersionSignature(4096, { signature: basisSig, chunks: chunksOf(file).map(idOf) });
    for (const chunk of chunksOf(file)) await version.add(lazy(chunk), idOf(chunk), false);
    expect(version.copied).toBe(0);
    expect(encodeSignature(version.finish())).toEqual(encodeSignature(await signature(file, { blockLength: 4096, strongLength: MAX_STRONG_LENGTH })));
  });

  it('signs every chunk when the basis used another block length', async () => {
    const file = randomBytes(3 * MiB);
    const basisSig = await signature(file, { blockLength: 2048, strongLength: MAX_STRONG_LENGTH });
    const version = new VersionSignature(4096, { signature: basisSig, chunks: chunksOf(file).map(idOf) });
    for (const chunk of chunksOf(file)) await version.add(lazy(chunk), idOf(chunk), true);
    expect(version.copied).toBe(0);
    expect(encodeSignature(version.finish())).toEqual(encodeSignature(await signature(file, { blockLength: 4096, strongLength: MAX_STRONG_LENGTH })));
  });

  it('fails, without throwing, when a chunk follows a partial one', async () => {
    const version = new VersionSignature(4096);
    const partial = randomBytes(1000);
    await version.add(lazy(partial), idOf(partial));
    const next = randomBytes(MiB);
    await version.add(lazy(next), idOf(next));
    expect(version.failed).toBe(true);
  });
});

describe('SignatureCache', () => {
  let root: string;
  let cache: SignatureCache;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'berth-signature-cache-'));
    cache = new SignatureCache(root);
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('keeps a signature by content and block length', async () => {
    const file = randomBytes(2 * MiB);
    const sha = idOf(file);
    const sig = await signature(file, { blockLength: 8192, strongLength: MAX_STRONG_LENGTH });
    expect(await cache.load(sha, 8192)).toBeNull();
    await cache.save(sha, sig);
    expect(encodeSignature((await cache.load(sha, 8192))!)).toEqual(encodeSignature(sig));
    expect(await cache.load(sha, 4096)).toBeNull();
    await cache.remove(sha, 8192);
    expect(await cache.load(sha, 8192)).toBeNull();
  });

  it('refuses to keep cut strong hashes', async () => {
    const sig = await signature(randomBytes(10_000), { blockLength: 1024, strongLength: 8 });
    await expect(cache.save(idOf(Buffer.from('x')), sig)).rejects.toThrow(/whole strong hashes/);
  });

  it('reads a torn entry as absent and removes it', async () => {
    const file = randomBytes(MiB);
    const sha = idOf(file);
    await cache.save(sha, await signature(file, { blockLength: 8192, strongLength: MAX_STRONG_LENGTH }));
    const [name] = await readdir(cache.dir);
    const encoded = encodeSignature(await signature(file, { blockLength: 8192, strongLength: MAX_STRONG_LENGTH }));
    await writeFile(join(cache.dir, name!), encoded.subarray(0, encoded.length - 100));
    expect(await cache.load(sha, 8192)).toBeNull();
    expect(await readdir(cache.dir)).toEqual([]);
  });

  it('removes entries unused for longer than the limit, and only those', async () => {
    const old = randomBytes(100_000);
    const fresh = randomBytes(100_000);
    await cache.save(idOf(old), await signature(old, { blockLength: 1024, strongLength: MAX_STRONG_LENGTH }));
    await cache.save(idOf(fresh), await signature(fresh, { blockLength: 1024, strongLength: MAX_STRONG_LENGTH }));
    const longAgo = new Date(Date.now() - 10 * 86_400_000);
    await utimes(join(cache.dir, `${idOf(old).toString('hex')}-1024`), longAgo, longAgo);
    const freshBytes = (await stat(join(cache.dir, `${idOf(fresh).toString('hex')}-1024`))).size;
    expect(await cache.prune({ maxIdleMs: 5 * 86_400_000, maxBytes: GiB })).toEqual({ idle: 1, overLimit: 0, bytes: freshBytes });
    expect(await readdir(cache.dir)).toEqual([`${idOf(fresh).toString('hex')}-1024`]);
    expect(await new SignatureCache(join(root, 'none')).prune({ maxIdleMs: 0, maxBytes: 0 })).toEqual({ idle: 0, overLimit: 0, bytes: 0 });
  });

  it('marks an entry used when it is loaded', async () => {
    const file = randomBytes(100_000);
    await cache.save(idOf(file), await signature(file, { blockLength: 1024, strongLength: MAX_STRONG_LENGTH }));
    const longAgo = new Date(Date.now() - 10 * 86_400_000);
    await utimes(join(cache.dir, `${idOf(file).toString('hex')}-1024`), longAgo, longAgo);
    expect(await cache.load(idOf(file), 1024)).not.toBeNull();
    expect((await cache.prune({ maxIdleMs: 5 * 86_400_000, maxBytes: GiB })).idle).toBe(0);
  });

  it('removes the least recently used entries until the rest fit the byte limit, leaving writes in progress alone', async () => {
    const files = [randomBytes(100_000), randomBytes(100_000), randomBytes(100_000), randomBytes(100_000)];
    const names: string[] = [];
    for (const [i, file] of files.entries()) {
      await cache.save(idOf(file), await signature(file, { blockLength: 1024, strongLength: MAX_STRONG_LENGTH }));
      const name = `${idOf(file).toString('hex')}-1024`;
      // Used i + 1 hours ago: the first is the most recently used.
      const used = new Date(Date.now() - (i + 1) * 3_600_000);
      await utimes(join(cache.dir, name), used, used);
      names.push(name);
    }
    await writeFile(join(cache.dir, '.in-progress.tmp'), randomBytes(50_000));
    const entryBytes = (await stat(join(cache.dir, names[0]!))).size;
    // Room for two and a half entries: the two used longest ago go.
    expect(await cache.prune({ maxIdleMs: 5 * 86_400_000, maxBytes: Math.floor(2.5 * entryBytes) })).toEqual({ idle: 0, overLimit: 2, bytes: 2 * entryBytes });
    expect((await readdir(cache.dir)).sort()).toEqual(['.in-progress.tmp', names[0]!, names[1]!].sort());
    // A loaded entry is used now: under pressure it outlives one used earlier.
    expect(await cache.load(idOf(files[1]!), 1024)).not.toBeNull();
    expect(await cache.prune({ maxIdleMs: 5 * 86_400_000, maxBytes: entryBytes })).toEqual({ idle: 0, overLimit: 1, bytes: entryBytes });
    expect((await readdir(cache.dir)).sort()).toEqual(['.in-progress.tmp', names[1]!].sort());
  });
});
