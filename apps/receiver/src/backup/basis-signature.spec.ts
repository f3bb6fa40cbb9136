import { blockLengthFor, encodeSignature, signature, strongLengthFor, type Signature } from '@berth/delta';
import { CONTENT_CHUNK_BYTES, Repository, RepositoryCorruptError, type FileContent, type ObjectId, type ReadOptions } from '@berth/repository';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signatureFrames, signStoredContent, type ChunkReader } from './basis-signature';

/** The stored content's signature with the block and strong lengths `signature` picks for its length. */
function signDefault(reader: ChunkReader, content: FileContent, size: bigint): Promise<Signature> {
  return signStoredContent(reader, content, size, blockLengthFor(Number(size)), strongLengthFor(Number(size)));
}

/** Chunks kept in memory; `into` is honoured or ignored, and a chunk may be damaged. */
class MemoryChunks implements ChunkReader {
  readonly chunks = new Map<string, Buffer>();
  intoUsed = 0;

  constructor(private readonly honourInto: boolean) {}

  add(data: Buffer): ObjectId {
    const id = createHash('sha256').update(data).digest();
    this.chunks.set(id.toString('hex'), data);
    return id;
  }

  readBlob(id: ObjectId, options: ReadOptions = {}): Promise<Buffer> {
    const stored = this.chunks.get(id.toString('hex')) as Buffer;
    if (!createHash('sha256').update(stored).digest().equals(id)) return Promise.reject(new RepositoryCorruptError('damaged', id.toString('hex')));
    const into = options.into;
    if (this.honourInto && into !== undefined && into.length >= stored.length) {
      this.intoUsed += 1;
      into.set(stored);
      return Promise.resolve(Buffer.from(into.buffer, into.byteOffset, stored.length));
    }
    return Promise.resolve(Buffer.from(stored));
  }
}

function store(reader: MemoryChunks, file: Buffer): FileContent {
  const chunks: ObjectId[] = [];
  for (let at = 0; at < file.length; at += CONTENT_CHUNK_BYTES) chunks.push(reader.add(file.subarray(at, at + CONTENT_CHUNK_BYTES)));
  return { sha256: createHash('sha256').update(file).digest(), chunks };
}

describe('basis signature', () => {
  it.each([true, false])('equals the signature of the file in memory, chunks read into its buffer or not (into honoured: %s)', async (honourInto) => {
    const file = randomBytes(5 * CONTENT_CHUNK_BYTES + 12_345);
    const reader = new MemoryChunks(honourInto);
    const frames = signatureFrames(await signDefault(reader, store(reader, file), BigInt(file.length)));
    expect(Buffer.concat(frames)).toEqual(encodeSignature(await signature(file)));
    expect(reader.intoUsed > 0).toBe(honourInto);
  });

  it('reads a small file (shorter than a chunk) through its scratch chunk', async () => {
    const file = randomBytes(300_000);
    const reader = new MemoryChunks(true);
    const frames = signatureFrames(await signDefault(reader, store(reader, file), BigInt(file.length)));
    expect(Buffer.concat(frames)).toEqual(encodeSignature(await signature(file)));
  });

  it('fails with the repository error when a chunk is damaged', async () => {
    const file = randomBytes(3 * CONTENT_CHUNK_BYTES);
    const reader = new MemoryChunks(true);
    const content = store(reader, file);
    const damaged = reader.chunks.get((content.chunks[2] as ObjectId).toString('hex')) as Buffer;
    damaged.writeUInt8(damaged.readUInt8(7) ^ 1, 7);
    await expect(signDefault(reader, content, BigInt(file.length))).rejects.toBeInstanceOf(RepositoryCorruptError);
  });

  it('reads a repository: stored and pending chunks straight into the signature buffer, each verified', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-basis-signature-'));
    try {
      const repo = await Repository.open(dir);
      const file = randomBytes(4 * CONTENT_CHUNK_BYTES + 999);
      const writer = repo.createContentWriter();
      await writer.write(file.subarray(0, 2 * CONTENT_CHUNK_BYTES));
      await repo.flush();
      await writer.write(file.subarray(2 * CONTENT_CHUNK_BYTES));
      const { content, size } = await writer.finish();
      const frames = signatureFrames(await signDefault(repo, content, size));
      expect(Buffer.concat(frames)).toEqual(encodeSignature(await signature(file)));
      await repo.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
