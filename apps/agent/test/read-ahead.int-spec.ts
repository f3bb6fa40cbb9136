import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONTENT_CHUNK_BYTES, ContentHasher } from '@berth/delta';
import { BatchReader } from '../src/backup/batch-reader';
import { ReadAhead } from '../src/backup/read-ahead';

// Real files and sockets; generous under load (the default is 5 s).
jest.setTimeout(30_000);

describe('ReadAhead', () => {
  let base: string;
  beforeEach(() => {
    base = mkdtempSync(join(tmpdir(), 'berth-ahead-'));
  });
  afterEach(async () => {
    await rm(base, { recursive: true, force: true });
  });

  it('hands files out in the order they were added, small ones read, large ones left to stream', async () => {
    const contents = await Promise.all(
      Array.from({ length: 12 }, async (_, i) => {
        const data = randomBytes(i * 1000);
        await writeFile(join(base, `f${i}`), data);
        return data;
      }),
    );
    await writeFile(join(base, 'large'), Buffer.alloc(4096));
    const ahead = new ReadAhead({ smallFileBytes: 2048 * 4, maxFiles: 3, maxBytes: 5000 });
    contents.forEach((data, i) => ahead.add({ seq: 1, index: i, path: Buffer.from(join(base, `f${i}`)), expectedSize: BigInt(data.length) }));
    ahead.add({ seq: 2, index: 0, path: Buffer.from(join(base, 'large')), expectedSize: 1n << 20n });
    for (let i = 0; i < contents.length; i++) {
      const item = ahead.take();
      expect([item.target.seq, item.target.index]).toEqual([1, i]);
      if (contents[i]!.length > 2048 * 4) {
        expect(item.content).toBeNull();
        continue;
      }
      const content = await item.content!;
      expect(content.error).toBeNull();
      expect(Buffer.concat(content.pieces).equals(contents[i]!)).toBe(true);
      expect(content.sha256.equals(createHash('sha256').update(contents[i]!).digest())).toBe(true);
    }
    expect(ahead.take()).toMatchObject({ target: { seq: 2, index: 0 }, content: null });
    expect(() => ahead.take()).toThrow(/empty/);
  });

  it('reads files whose names are not UTF-8, and a file that grew since the walk to its end', async () => {
    const odd = Buffer.concat([Buffer.from(join(base, 'odd-')), Buffer.from([0xff, 0xfe, 0x80])]);
    await writeFile(odd, 'odd name');
    const grown = randomBytes(200_000);
    await writeFile(join(base, 'grown'), grown);
    const ahead = new ReadAhead();
    ahead.add({ seq: 0, index: 0, path: odd, expectedSize: 8n });
    ahead.add({ seq: 0, index: 1, path: Buffer.from(join(base, 'grown')), expectedSize: 100n });
    const first = await ahead.take().content!;
    expect(first.error).toBeNull();
    expect(Buffer.concat(first.pieces).toString()).toBe('odd name');
    const second = await ahead.take().content!;
    expect(second.error).toBeNull();
    expect(second.size).toBe(grown.length);
    expect(Buffer.concat(second.pieces).equals(grown)).toBe(true);
    expect(second.sha256.equals(createHash('sha256').update(grown).digest())).toBe(true);
  });

  it('names a small file that grew past one chunk since the walk by its content hash, read alone or in a batch', async () => {
    const grown = randomBytes(CONTENT_CHUNK_BYTES + 300_000);
    await writeFile(join(base, 'grown-large'), grown);
    const expected = new ContentHasher().update(grown).digest();
    // Past one chunk the content hash is the hash of the chunk ids, not the SHA-256 of the bytes.
    expect(expected.equals(createHash('sha256').update(grown).digest())).toBe(false);
    const ahead = new ReadAhead();
    ahead.add({ seq: 0, index: 0, path: Buffer.from(join(base, 'grown-large')), expectedSize: 1000n });
    const alone = await ahead.take().content!;
    expect(alone.error).toBeNull();
    expect(alone.size).toBe(grown.length);
    expect(alone.sha256.equals(expected)).toBe(true);
    const [batched] = await new BatchReader().read([{ path: Buffer.from(join(base, 'grown-large')), expectedSize: 1000 }]);
    expect(batched!.error).toBeNull();
    expect(Buffer.concat(batched!.pieces).equals(grown)).toBe(true);
    expect(batched!.sha256.equals(expected)).toBe(true);
  });

  it('reports a file gone before it was read as an error of that file only', async () => {
    await writeFile(join(base, 'a'), 'a');
    await unlink(join(base, 'a'));
    const ahead = new ReadAhead();
    ahead.add({ seq: 0, index: 0, path: Buffer.from(join(base, 'a')), expectedSize: 1n });
    const content = await ahead.take().content!;
    expect(content.size).toBe(0);
    expect(content.error).toMatch(/^vanished before it could be read/);
  });
});
