import { ContentHasher, delta, encodeDeltaToBuffer, isDeltaError, signature, type WholeFileHash } from '@berth/delta';
import { type ContentWriter, Repository, type FileContent } from '@berth/repository';
import { createHash } from 'node:crypto';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeltaApplier } from './delta-applier';
import { RepositoryBasis } from './repository-basis';

const MiB = 1024 * 1024;
const sha256 = (data: Buffer): Buffer => createHash('sha256').update(data).digest();

describe('RepositoryBasis and DeltaApplier over a real repository', () => {
  let dir: string;
  let repo: Repository;
  let basis: Buffer;
  let content: FileContent;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-basis-'));
    repo = await Repository.open(join(dir, 'repo'));
    basis = randomBytes(3 * MiB + 1234);
    const writer = repo.createContentWriter();
    await writer.write(Buffer.from(basis));
    ({ content } = await writer.finish());
    await repo.flush();
  });

  afterAll(async () => {
    await repo.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('reads any range of the stored file, within a chunk, across chunks and at its end', async () => {
    const reader = new RepositoryBasis(repo, content, BigInt(basis.length));
    expect(reader.length).toBe(basis.length);
    for (const [offset, length] of [
      [0, 100],
      [MiB - 10, 20],
      [MiB - 5, 2 * MiB + 10],
      [3 * MiB, 5000],
      [basis.length, 10],
    ] as const) {
      expect((await reader.read(offset, length)).equals(basis.subarray(offset, offset + length))).toBe(true);
    }
  });

  it('reads chunks handed out whole into the memory of evicted ones, never into memory a range read handed out', async () => {
    const wholeOnly = async (reader: RepositoryBasis): Promise<ArrayBufferLike[]> => {
      const memory = [];
      for (let index = 0; index < 4; index++) {
        const { read, id } = reader.storedChunk(index);
        expect(id).toBe(content.chunks[index]);
        const data = await read();
        expect(data.equals(basis.subarray(index * MiB, (index + 1) * MiB))).toBe(true);
        memory.push(data.buffer);
      }
      return memory;
    };
    const reused = await wholeOnly(new RepositoryBasis(repo, content, BigInt(basis.length)));
    expect(reused[3]).toBe(reused[0]);
    const reader = new RepositoryBasis(repo, content, BigInt(basis.length));
    const view = await reader.read(10, 100);
    const memory = await wholeOnly(reader);
    expect(memory[0]).toBe(view.buffer);
    expect(memory[3]).not.toBe(memory[0]);
    expect(view.equals(basis.subarray(10, 110))).toBe(true);
  });

  async function apply(newVersion: Buffer, against: Buffer, frameBytes: number, hash: WholeFileHash = 'content', expected: WholeFileHash = 'content'): Promise<Buffer> {
    const encoded = await encodeDeltaToBuffer(delta(await signature(against), newVersion, { hash }));
    const out: Buffer[] = [];
    const applier = new DeltaApplier(
      new RepositoryBasis(repo, content, BigInt(basis.length)),
      (data) => {
        out.push(Buffer.from(data));
        return Promise.resolve();
      },
      null,
      expected,
    );
    for (let offset = 0; offset < encoded.length; offset += frameBytes) await applier.push(encoded.subarray(offset, offset + frameBytes));
    const end = applier.finish();
    expect(end.length).toBe(newVersion.length);
    return Buffer.concat(out);
  }

  it('rebuilds a changed version from frames of any cut', async () => {
    const changed = Buffer.concat([basis.subarray(0, 2 * MiB), randomBytes(5000), basis.subarray(2 * MiB + 100)]);
    expect((await apply(changed, basis, 777)).equals(changed)).toBe(true);
  });

  it('passes the basis chunks a delta copies whole and in place by their ids, unread, writing only the rest', async () => {
    const changed = Buffer.concat([basis.subarray(0, MiB + 4096), randomBytes(4096), basis.subarray(MiB + 8192)]);
    const encoded = await encodeDeltaToBuffer(delta(await signature(basis), changed, { hash: 'content' }));
    const writer = repo.createContentWriter() as ContentWriter;
    const stored: string[] = [];
    const reads: number[] = [];
    const basisReader = new RepositoryBasis(repo, content, BigInt(basis.length));
    const storedChunk = basisReader.storedChunk.bind(basisReader);
    basisReader.storedChunk = (index) => {
      const chunk = storedChunk(index);
      return { ...chunk, read: () => (reads.push(index), chunk.read()) };
    };
    const applier = new DeltaApplier(
      basisReader,
      (data) => writer.write(Buffer.from(data)),
      (chunk) => (stored.push(chunk.id.toString('hex')), writer.writeStored(chunk)),
    );
    for (let offset = 0; offset < encoded.length; offset += 5000) await applier.push(encoded.subarray(offset, offset + 5000));
    const end = applier.finish();
    const written = await writer.finish();
    expect(reads).toEqual([]);
    expect(written.content.sha256.equals(new ContentHasher().update(changed).digest())).toBe(true);
    expect(end.sha256.equals(written.content.sha256)).toBe(true);
    // Chunks 0 and 2 are the basis' own; chunk 1 holds the edit and the short last chunk is written as bytes.
    expect(stored).toEqual([content.chunks[0]!.toString('hex'), content.chunks[2]!.toString('hex')]);
    expect([...applier.copiedWhole]).toEqual([0, 2]);
    expect(written.content.chunks.map((id) => id.toString('hex'))).toEqual(
      [0, 1, 2, 3].map((i) => sha256(changed.subarray(i * MiB, (i + 1) * MiB)).toString('hex')),
    );
  });

  it("refuses a delta whose end digest is not the session's content hash (FileEnd could not vouch for it)", async () => {
    for (const [hash, expected, message] of [
      ['blake3', 'content', /must use content hash/],
      ['sha256', 'content', /must use content hash/],
      ['content', 'sha256', /must use SHA-256/],
    ] as const) {
      const failure = await apply(basis.subarray(0, 1000), basis, 4096, hash, expected).catch((error: unknown) => error);
      expect(isDeltaError(failure)).toBe(true);
      expect((failure as Error).message).toMatch(message);
    }
  });

  it('rebuilds a legacy SHA-256 delta for an agent before protocol 7', async () => {
    const changed = Buffer.concat([basis.subarray(0, MiB), randomBytes(300), basis.subarray(MiB + 300)]);
    expect((await apply(changed, basis, 4096, 'sha256', 'sha256')).equals(changed)).toBe(true);
  });

  it('reads a basis chunk whose stored length is not a full chunk instead of taking it by id (content cut otherwise)', async () => {
    // A basis named with other cuts (stored before the cut was checked): chunk 1 is half a chunk long.
    const odd = randomBytes(2 * MiB + MiB / 2);
    const pieces = [odd.subarray(0, MiB), odd.subarray(MiB, MiB + MiB / 2), odd.subarray(MiB + MiB / 2)];
    const chunks = await Promise.all(pieces.map(async (piece) => (await repo.putBlob(Buffer.from(piece))).id));
    const oddContent: FileContent = { sha256: sha256(odd), chunks };
    const changed = Buffer.from(odd);
    randomBytes(100).copy(changed, 10);
    const encoded = await encodeDeltaToBuffer(delta(await signature(odd), changed, { hash: 'content' }));
    const stored: number[] = [];
    const applier = new DeltaApplier(
      new RepositoryBasis(repo, oddContent, BigInt(odd.length)),
      () => Promise.resolve(),
      (chunk) => (stored.push(chunk.length), Promise.resolve()),
    );
    // Chunk 1 at offset 1 MiB is copied in the delta, but its blob is half a chunk: it is read, never taken by id, and
    // the reads by offset do not fit such a basis: the delta fails (the session then asks for the file whole).
    const failure = await applier.push(encoded).catch((error: unknown) => error);
    expect(isDeltaError(failure)).toBe(true);
    expect((failure as Error).message).toMatch(/basis ends before/);
    expect([...applier.copiedWhole]).toEqual([]);
    expect(stored).toEqual([]);
  });

  it('refuses a delta made against another basis', async () => {
    const other = randomBytes(1000);
    const failure = await apply(other, other, 4096).catch((error: unknown) => error);
    expect(isDeltaError(failure)).toBe(true);
    expect((failure as Error).message).toMatch(/1000-byte basis/);
  });
});
