import { CONTENT_CHUNK_BYTES, ContentHasher } from '@berth/delta';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { hashContent, hashFirstChunk } from './content-offer';

const sha256 = (data: Buffer): Buffer => createHash('sha256').update(data).digest();

describe('hashContent', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'content-offer-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    ['empty', 0],
    ['shorter than a chunk', 1000],
    ['exactly one chunk', CONTENT_CHUNK_BYTES],
    ['many chunks and a tail', 9 * CONTENT_CHUNK_BYTES + 123],
  ])('gives the whole-file hash and each 1 MiB chunk hash in order: %s', async (_name, size) => {
    const data = randomBytes(size);
    const file = path.join(dir, `f${size}`);
    writeFileSync(file, data);
    const hashes = await hashContent(Buffer.from(file));
    const expected: Buffer[] = [];
    for (let at = 0; at < size; at += CONTENT_CHUNK_BYTES) expected.push(sha256(data.subarray(at, at + CONTENT_CHUNK_BYTES)));
    expect(hashes?.size).toBe(BigInt(size));
    expect(hashes?.sha256.equals(new ContentHasher().update(data).digest())).toBe(true);
    expect(hashes?.chunks.map((chunk) => chunk.toString('hex'))).toEqual(expected.map((chunk) => chunk.toString('hex')));
  });

  it('answers null for a file that cannot be read', async () => {
    expect(await hashContent(Buffer.from(path.join(dir, 'missing')))).toBeNull();
  });
});

describe('hashFirstChunk', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'first-chunk-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('gives the size and the first 1 MiB chunk hash of a file longer than one chunk', async () => {
    const data = randomBytes(2 * CONTENT_CHUNK_BYTES + 17);
    const file = path.join(dir, 'long');
    writeFileSync(file, data);
    const first = await hashFirstChunk(Buffer.from(file));
    expect(first?.size).toBe(BigInt(data.length));
    expect(first?.chunk.toString('hex')).toBe(sha256(data.subarray(0, CONTENT_CHUNK_BYTES)).toString('hex'));
  });

  it.each([
    ['exactly one chunk', CONTENT_CHUNK_BYTES],
    ['shorter than a chunk', 10],
  ])('answers null for a file of at most one chunk (it is sent without an offer): %s', async (_name, size) => {
    const file = path.join(dir, `f${size}`);
    writeFileSync(file, randomBytes(size));
    expect(await hashFirstChunk(Buffer.from(file))).toBeNull();
  });

  it('answers null for a file that cannot be read', async () => {
    expect(await hashFirstChunk(Buffer.from(path.join(dir, 'missing')))).toBeNull();
  });
});
