import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as fc from 'fast-check';
import { chunkCountFor, chunkListHash, CONTENT_CHUNK_BYTES, ContentHasher, isChunkListHash } from './content-hash';
import { delta, type DeltaStream } from './delta';
import { encodeDeltaToBuffer, decodeDelta } from './delta-codec';
import { patch } from './patch';
import { Sha256Stream } from './sha256-stream';
import { signature } from './signature';
import { collectBytes } from '../test/round-trip';

const MiB = CONTENT_CHUNK_BYTES;
const sha256 = (data: Uint8Array): Buffer => createHash('sha256').update(data).digest();
const idsOf = (data: Buffer): Buffer[] => {
  const ids: Buffer[] = [];
  for (let at = 0; at < data.length; at += MiB) ids.push(sha256(data.subarray(at, at + MiB)));
  return ids;
};

/** The definition, written out independently of the implementation. */
function reference(data: Buffer): Buffer {
  if (data.length <= MiB) return sha256(data);
  const size = Buffer.alloc(8);
  size.writeBigUInt64LE(BigInt(data.length));
  return sha256(Buffer.concat([Buffer.from('berth content v2\n', 'latin1'), size, ...idsOf(data)]));
}

const SIZES = [0, 1, MiB - 1, MiB, MiB + 1, 2 * MiB, 3 * MiB + 777];

describe('content hash', () => {
  it('is the SHA-256 of content of one chunk or none, and a hash of the size and chunk ids beyond', () => {
    for (const size of SIZES) {
      const data = randomBytes(size);
      const hash = chunkListHash(idsOf(data), size);
      expect(hash.toString('hex')).toBe(reference(data).toString('hex'));
      expect(hash.equals(sha256(data))).toBe(size <= MiB);
      expect(chunkCountFor(size)).toBe(idsOf(data).length);
    }
  });

  it('tells a chunk-list hash from the SHA-256 of the bytes of content stored before it', () => {
    const data = randomBytes(2 * MiB + 5);
    expect(isChunkListHash(reference(data), idsOf(data), data.length)).toBe(true);
    expect(isChunkListHash(sha256(data), idsOf(data), data.length)).toBe(false);
    // One chunk: both names are the same.
    expect(isChunkListHash(sha256(data.subarray(0, 10)), idsOf(data.subarray(0, 10)), 10)).toBe(true);
  });

  it('changes with any chunk, their order and the size', () => {
    const data = randomBytes(3 * MiB);
    const ids = idsOf(data);
    const base = chunkListHash(ids, data.length);
    expect(chunkListHash([ids[1], ids[0], ids[2]] as Buffer[], data.length).equals(base)).toBe(false);
    expect(chunkListHash(ids, data.length - 1).equals(base)).toBe(false);
    const edited = Buffer.from(data);
    edited[2 * MiB + 3] = (edited[2 * MiB + 3] as number) ^ 1;
    expect(chunkListHash(idsOf(edited), edited.length).equals(base)).toBe(false);
  });

  it('ContentHasher gives the same name and chunk ids whatever the cut of its input', async () => {
    const data = randomBytes(2 * MiB + 4321);
    const expected = reference(data);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 700_000 }), { minLength: 1, maxLength: 6 }), (sizes) => {
        const hasher = new ContentHasher();
        for (let at = 0, i = 0; at < data.length; i++) {
          const size = sizes[i % sizes.length] as number;
          hasher.update(data.subarray(at, at + size));
          at += size;
        }
        expect(hasher.digest().equals(expected)).toBe(true);
        expect(hasher.chunkIds.map((id) => id.toString('hex'))).toEqual(idsOf(data).map((id) => id.toString('hex')));
        expect(hasher.bytes).toBe(data.length);
        return Promise.resolve();
      }),
      { numRuns: 20 },
    );
  });

  it('Sha256Stream in content-hash mode gives the content hash, inline or on its helper thread, streams kept apart', async () => {
    const inputs = SIZES.map((size) => randomBytes(size));
    const digests = await Promise.all(
      inputs.map(async (data) => {
        const stream = new Sha256Stream(true);
        for (let offset = 0; offset < data.length; offset += 300_000) await stream.update(data.subarray(offset, offset + 300_000));
        return stream.digest();
      }),
    );
    digests.forEach((digest, i) => expect(digest.toString('hex')).toBe(reference(inputs[i] as Buffer).toString('hex')));
    // A plain stream beside them still gives the SHA-256 of the bytes.
    const plain = new Sha256Stream();
    await plain.update(inputs[6] as Buffer);
    expect((await plain.digest()).equals(sha256(inputs[6] as Buffer))).toBe(true);
  });

  it('a delta carries it as its end digest, and patch checks it', async () => {
    const basis = randomBytes(3 * MiB + 100);
    const next = Buffer.from(basis);
    randomBytes(4096).copy(next, MiB + 5000);
    const encoded = await encodeDeltaToBuffer(delta(await signature(basis), next, { hash: 'content' }));
    const rebuilt = await collectBytes(patch(basis, decodeDelta([encoded])));
    expect(rebuilt.equals(next)).toBe(true);
    const tampered = Buffer.from(encoded);
    // The end digest is the last 32 bytes.
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] as number) ^ 1;
    await expect(collectBytes(patch(basis, decodeDelta([tampered])))).rejects.toThrow(/content hash/);
  });

  it('Sha256Stream in content-hash mode hands back each chunk id once the chunk is through', async () => {
    const data = randomBytes(3 * MiB + 777);
    const ids = idsOf(data);
    const stream = new Sha256Stream(true, 1000);
    let fed = 0;
    for (; fed < data.length; fed += 300_000) {
      await stream.update(data.subarray(fed, fed + 300_000));
      const through = Math.min(data.length, fed + 300_000);
      const complete = Math.floor(through / MiB);
      for (let chunk = 0; chunk < complete; chunk++) expect((await stream.chunkId(chunk))?.toString('hex')).toBe(ids[chunk]?.toString('hex'));
      // Not complete yet (the last, short chunk never is before the digest).
      expect(await stream.chunkId(complete)).toBeUndefined();
    }
    expect((await stream.digest()).equals(reference(data))).toBe(true);
    // Under one chunk the stream never leaves its thread; a stream made without chunkIds keeps none.
    const small = new Sha256Stream(true, 1000);
    await small.update(data.subarray(0, MiB - 1));
    expect(small.chunkId(0)).toBeUndefined();
    const notKept = new Sha256Stream(true);
    await notKept.update(data);
    expect(notKept.chunkId(0)).toBeUndefined();
    const plain = new Sha256Stream();
    await plain.update(data);
    expect(plain.chunkId(0)).toBeUndefined();
    await Promise.all([small.digest(), notKept.digest(), plain.digest()]);
  });

  it('keeps the ids of as many first chunks as asked, each in its place, and none after them', async () => {
    const chunks = 70;
    const data = Buffer.alloc(chunks * MiB);
    for (let chunk = 0; chunk < chunks; chunk++) data.fill(chunk, chunk * MiB, (chunk + 1) * MiB);
    const stream = new Sha256Stream(true, 67);
    for (let at = 0; at < data.length; at += 3 * MiB) await stream.update(data.subarray(at, at + 3 * MiB));
    for (const chunk of [0, 1, 63, 64, 65, 66]) expect((await stream.chunkId(chunk))?.toString('hex')).toBe(sha256(data.subarray(chunk * MiB, (chunk + 1) * MiB)).toString('hex'));
    expect(stream.chunkId(67)).toBeUndefined();
    expect(stream.chunkId(69)).toBeUndefined();
    expect((await stream.digest()).equals(reference(data))).toBe(true);
  });

  describe('a delta given the basis chunk ids', () => {
    const BLOCK = 64 * 1024;
    const ids = (data: Buffer): Buffer => Buffer.concat(idsOf(data));
    async function deltaOf(basis: Buffer, next: Buffer, basisChunks?: Uint8Array, blockLength = BLOCK): Promise<{ encoded: Buffer; stream: DeltaStream }> {
      const stream = delta(await signature(basis, { blockLength }), next, { hash: 'content', ...(basisChunks === undefined ? {} : { basisChunks }) });
      return { encoded: await encodeDeltaToBuffer(stream), stream };
    }

    it('copies the chunks an edit in place left alone without hashing their blocks, and encodes the same delta', async () => {
      const basis = randomBytes(5 * MiB + 1000);
      const next = Buffer.from(basis);
      randomBytes(4096).copy(next, MiB + 5000);
      const plain = await deltaOf(basis, next);
      const skipping = await deltaOf(basis, next, ids(basis));
      expect(skipping.encoded.equals(plain.encoded)).toBe(true);
      expect(skipping.stream.stats.unchangedChunks).toBe(4);
      expect(plain.stream.stats.unchangedChunks).toBe(0);
      // Only chunk 1's blocks (and the short tail) were hashed.
      expect(skipping.stream.stats.strongHashes).toBeLessThanOrEqual(MiB / BLOCK + 2);
      expect(plain.stream.stats.strongHashes).toBeGreaterThan(5 * (MiB / BLOCK));
      expect((await collectBytes(patch(basis, decodeDelta([skipping.encoded])))).equals(next)).toBe(true);
    });

    it('compares only where the new version is aligned with the basis: after an insertion it rolls as before', async () => {
      const basis = randomBytes(4 * MiB);
      const next = Buffer.concat([basis.subarray(0, 2 * MiB + 10), randomBytes(333), basis.subarray(2 * MiB + 10)]);
      const plain = await deltaOf(basis, next);
      const skipping = await deltaOf(basis, next, ids(basis));
      expect(skipping.encoded.equals(plain.encoded)).toBe(true);
      expect(skipping.stream.stats.unchangedChunks).toBe(2);
      expect((await collectBytes(patch(basis, decodeDelta([skipping.encoded])))).equals(next)).toBe(true);
    });

    it('compares nothing when the block length does not divide a chunk, and the delta is still right', async () => {
      const basis = randomBytes(3 * MiB);
      const next = Buffer.from(basis);
      next[10] = (next[10] as number) ^ 1;
      const skipping = await deltaOf(basis, next, ids(basis), 1000);
      expect(skipping.stream.stats.unchangedChunks).toBe(0);
      expect((await collectBytes(patch(basis, decodeDelta([skipping.encoded])))).equals(next)).toBe(true);
    });

    it('trusts the ids it is given: wrong ones make a delta that patch refuses by its content hash', async () => {
      const basis = randomBytes(3 * MiB);
      const next = Buffer.from(basis);
      randomBytes(100).copy(next, 2 * MiB + 50);
      // Ids that claim the basis's chunk 2 is the new version's.
      const lying = Buffer.concat(idsOf(next));
      const skipping = await deltaOf(basis, next, lying);
      expect(skipping.stream.stats.unchangedChunks).toBe(3);
      await expect(collectBytes(patch(basis, decodeDelta([skipping.encoded])))).rejects.toThrow(/content hash/);
    });

    it('reads a file larger than its buffer, compares what is aligned and what it has ids for, and encodes the same delta', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'berth-delta-ids-'));
      try {
        const basis = randomBytes(14 * MiB);
        // An edit in place in chunk 3, then 100 bytes inserted in chunk 9: chunks 10 and after are no longer aligned.
        const edited = Buffer.from(basis);
        randomBytes(4096).copy(edited, 3 * MiB + 999);
        const next = Buffer.concat([edited.subarray(0, 9 * MiB + 5), randomBytes(100), edited.subarray(9 * MiB + 5)]);
        const path = join(dir, 'next');
        await writeFile(path, next);
        const sig = await signature(basis, { blockLength: BLOCK });
        const run = async (basisChunks?: Uint8Array): Promise<{ encoded: Buffer; stream: DeltaStream }> => {
          const stream = delta(sig, path, { hash: 'content', ...(basisChunks === undefined ? {} : { basisChunks }) });
          return { encoded: await encodeDeltaToBuffer(stream), stream };
        };
        const plain = await run();
        const skipping = await run(ids(basis));
        expect(skipping.encoded.equals(plain.encoded)).toBe(true);
        // Chunks 0-2 and 4-8 (chunk 9 holds the insertion).
        expect(skipping.stream.stats.unchangedChunks).toBe(8);
        expect((await collectBytes(patch(basis, decodeDelta([skipping.encoded])))).equals(next)).toBe(true);
        // Ids of the first 2 chunks only (as a receiver sends for the first 16 GiB): only those are compared.
        const truncated = await run(ids(basis).subarray(0, 2 * 32));
        expect(truncated.encoded.equals(plain.encoded)).toBe(true);
        expect(truncated.stream.stats.unchangedChunks).toBe(2);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    it('refuses ids without the content hash, or not in 32-byte ids', async () => {
      const sig = await signature(Buffer.alloc(10));
      expect(() => delta(sig, Buffer.alloc(10), { hash: 'sha256', basisChunks: new Uint8Array(32) })).toThrow(/basisChunks needs the content hash/);
      expect(() => delta(sig, Buffer.alloc(10), { hash: 'content', basisChunks: new Uint8Array(33) })).toThrow(/32-byte ids/);
    });
  });
});
