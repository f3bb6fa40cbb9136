import { createHash, randomBytes } from 'node:crypto';
import * as fc from 'fast-check';
import { chunkCountFor, chunkListHash, CONTENT_CHUNK_BYTES, ContentHasher, isChunkListHash } from './content-hash';
import { delta } from './delta';
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
});
