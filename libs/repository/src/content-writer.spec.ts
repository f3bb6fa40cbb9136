import { createHash, randomBytes } from 'node:crypto';
import { chunkListHash, ContentHasher } from '@berth/delta';
import { ContentWriter, inlineWholeHash, type StoredChunk, type WholeHash } from './content-writer';
import { sha256 } from './ids';
import { CONTENT_CHUNK_BYTES, type ObjectId } from './model';

/** An in-memory blob store. */
function memorySink(): { blobs: Map<string, Buffer>; putBlob(data: Buffer): Promise<{ id: ObjectId; stored: boolean }> } {
  const blobs = new Map<string, Buffer>();
  return {
    blobs,
    putBlob(data) {
      const id = sha256(data);
      const stored = !blobs.has(id.toString('hex'));
      blobs.set(id.toString('hex'), Buffer.from(data));
      return Promise.resolve({ id, stored });
    },
  };
}

/** A stored chunk handed over by id, counting the reads of its bytes. */
function storedChunk(data: Buffer, id: ObjectId, reads: { count: number } = { count: 0 }): StoredChunk {
  return {
    id,
    length: data.length,
    read: () => {
      reads.count += 1;
      return Promise.resolve(data);
    },
  };
}

describe('ContentWriter naming', () => {
  it('names content by its chunk-list hash: the content hash of its bytes, and the SHA-256 of one chunk or none', async () => {
    for (const size of [0, 1, CONTENT_CHUNK_BYTES, CONTENT_CHUNK_BYTES + 1, 3 * CONTENT_CHUNK_BYTES + 12_345]) {
      const content = randomBytes(size);
      const writer = new ContentWriter(memorySink());
      await writer.write(content);
      const written = await writer.finish();
      expect(written.content.sha256.toString('hex')).toBe(new ContentHasher().update(content).digest().toString('hex'));
      expect(written.content.sha256.equals(chunkListHash(written.content.chunks, size))).toBe(true);
      expect(written.content.sha256.equals(sha256(content))).toBe(size <= CONTENT_CHUNK_BYTES);
    }
  });

  it('names content of more than one chunk by the SHA-256 of its bytes for a legacy agent', async () => {
    const content = randomBytes(2 * CONTENT_CHUNK_BYTES + 5);
    const writer = new ContentWriter(memorySink(), null, inlineWholeHash);
    await writer.write(content);
    expect((await writer.finish()).content.sha256.equals(sha256(content))).toBe(true);
  });
});

describe('ContentWriter after a stored prefix', () => {
  it('continues a file after its stored leading chunks: same chunks and content hash as writing it all', async () => {
    const content = randomBytes(3 * CONTENT_CHUNK_BYTES + 12_345);
    const sink = memorySink();
    const all = new ContentWriter(sink);
    await all.write(content);
    const whole = await all.finish();

    const resumed = new ContentWriter(sink, { chunks: whole.content.chunks.slice(0, 2), whole: null });
    await resumed.write(content.subarray(2 * CONTENT_CHUNK_BYTES));
    const written = await resumed.finish();
    expect(written.content.sha256.equals(whole.content.sha256)).toBe(true);
    expect(written.content.chunks).toEqual(whole.content.chunks);
    expect(written.bytesStored).toBe(0);
  });

  it('refuses a prefix without a whole-file hash for legacy naming, and one with it otherwise', () => {
    const held = [sha256(Buffer.from('x'))];
    expect(() => new ContentWriter(memorySink(), { chunks: held, whole: null }, inlineWholeHash)).toThrow(/whole-file hash/);
    expect(() => new ContentWriter(memorySink(), { chunks: held, whole: inlineWholeHash() })).toThrow(/whole-file hash/);
  });

  it('continues a legacy whole-file hash after the stored leading chunks', async () => {
    const content = randomBytes(3 * CONTENT_CHUNK_BYTES + 12_345);
    const sink = memorySink();
    const all = new ContentWriter(sink, null, inlineWholeHash);
    await all.write(content);
    const whole = await all.finish();

    const held = whole.content.chunks.slice(0, 2);
    const hash = createHash('sha256').update(content.subarray(0, 2 * CONTENT_CHUNK_BYTES));
    const resumed = new ContentWriter(sink, { chunks: held, whole: inlineWholeHash(hash) }, inlineWholeHash);
    const rest = content.subarray(2 * CONTENT_CHUNK_BYTES);
    for (let at = 0; at < rest.length; at += 100_000) await resumed.write(rest.subarray(at, at + 100_000));
    const written = await resumed.finish();
    expect(written.size).toBe(BigInt(content.length));
    expect(written.content.sha256.equals(whole.content.sha256)).toBe(true);
    expect(written.content.chunks).toEqual(whole.content.chunks);
    expect(written.bytesStored).toBe(0);
  });

  it('ends right after the prefix when nothing follows (the file shrank to it)', async () => {
    const content = randomBytes(2 * CONTENT_CHUNK_BYTES);
    const sink = memorySink();
    const first = await sink.putBlob(content.subarray(0, CONTENT_CHUNK_BYTES));
    const second = await sink.putBlob(content.subarray(CONTENT_CHUNK_BYTES));
    const writer = new ContentWriter(sink, { chunks: [first.id, second.id], whole: null });
    const written = await writer.finish();
    expect(written.size).toBe(BigInt(content.length));
    expect(written.content.sha256.equals(chunkListHash([first.id, second.id], content.length))).toBe(true);
    expect(written.content.chunks).toEqual([first.id, second.id]);
  });
});

describe('ContentWriter.writeStored', () => {
  it('takes stored chunks by id: the same content as writing every byte, without reading or offering them again', async () => {
    const content = randomBytes(4 * CONTENT_CHUNK_BYTES + 777);
    const sink = memorySink();
    const reference = new ContentWriter(sink);
    await reference.write(content);
    const expected = await reference.finish();

    const offered: Buffer[] = [];
    const counting = { putBlob: (data: Buffer) => (offered.push(data), sink.putBlob(data)) };
    const writer = new ContentWriter(counting);
    const chunk = (i: number): Buffer => content.subarray(i * CONTENT_CHUNK_BYTES, (i + 1) * CONTENT_CHUNK_BYTES);
    // Chunk 0 written byte-wise in two pieces, 1 and 2 by id, 3 written, then the tail.
    await writer.write(chunk(0).subarray(0, 1000));
    await writer.write(chunk(0).subarray(1000));
    const reads = { count: 0 };
    await writer.writeStored(storedChunk(chunk(1), expected.content.chunks[1]!, reads));
    await writer.writeStored(storedChunk(chunk(2), expected.content.chunks[2]!, reads));
    await writer.write(chunk(3));
    await writer.write(content.subarray(4 * CONTENT_CHUNK_BYTES));
    const written = await writer.finish();
    expect(reads.count).toBe(0);

    expect(written.size).toBe(BigInt(content.length));
    expect(written.content.sha256.equals(expected.content.sha256)).toBe(true);
    expect(written.content.chunks).toEqual(expected.content.chunks);
    expect(offered.map((data) => sha256(data).toString('hex'))).toEqual([0, 3, 4].map((i) => expected.content.chunks[i]!.toString('hex')));
  });

  it('writes as usual what is off a chunk boundary or not a whole chunk', async () => {
    const content = randomBytes(2 * CONTENT_CHUNK_BYTES + 10);
    const sink = memorySink();
    const writer = new ContentWriter(sink);
    await writer.write(content.subarray(0, 10));
    // Off the boundary: its id is not used (a wrong one would show in the chunks).
    await writer.writeStored(storedChunk(content.subarray(10, 10 + CONTENT_CHUNK_BYTES), Buffer.alloc(32)));
    await writer.writeStored(storedChunk(content.subarray(10 + CONTENT_CHUNK_BYTES), Buffer.alloc(32)));
    const written = await writer.finish();
    expect(written.content.sha256.equals(new ContentHasher().update(content).digest())).toBe(true);
    expect(written.content.chunks.map((id) => id.toString('hex'))).toEqual([
      sha256(content.subarray(0, CONTENT_CHUNK_BYTES)).toString('hex'),
      sha256(content.subarray(CONTENT_CHUNK_BYTES, 2 * CONTENT_CHUNK_BYTES)).toString('hex'),
      sha256(content.subarray(2 * CONTENT_CHUNK_BYTES)).toString('hex'),
    ]);
  });

  it('legacy naming reads a stored chunk: bytes that are not what its id names show in the whole-file hash', async () => {
    const content = randomBytes(2 * CONTENT_CHUNK_BYTES);
    const sink = memorySink();
    const { id } = await sink.putBlob(content.subarray(0, CONTENT_CHUNK_BYTES));
    const writer = new ContentWriter(sink, null, inlineWholeHash);
    const damaged = Buffer.from(content.subarray(0, CONTENT_CHUNK_BYTES));
    damaged.writeUInt8(damaged.readUInt8(5) ^ 1, 5);
    const reads = { count: 0 };
    await writer.writeStored(storedChunk(damaged, id, reads));
    expect(reads.count).toBe(1);
    await writer.write(content.subarray(CONTENT_CHUNK_BYTES));
    const written = await writer.finish();
    expect(written.content.sha256.equals(sha256(content))).toBe(false);
  });
});

describe('ContentWriter legacy whole-file hash', () => {
  /** node:crypto's hash, counting what the writer asks of it. */
  function counted(): { made: number; aborted: number; factory: () => WholeHash } {
    const state = {
      made: 0,
      aborted: 0,
      factory: (): WholeHash => {
        state.made += 1;
        const inner = inlineWholeHash();
        return { update: (data) => inner.update(data), digest: () => inner.digest(), abort: () => void (state.aborted += 1) };
      },
    };
    return state;
  }

  it('is the one given, started only for a file of more than one chunk', async () => {
    const content = randomBytes(2 * CONTENT_CHUNK_BYTES + 7);
    const hashes = counted();
    const large = new ContentWriter(memorySink(), null, hashes.factory);
    await large.write(content);
    expect((await large.finish()).content.sha256.equals(sha256(content))).toBe(true);
    const small = new ContentWriter(memorySink(), null, hashes.factory);
    await small.write(content.subarray(0, CONTENT_CHUNK_BYTES));
    await small.finish();
    expect(hashes.made).toBe(1);
  });

  it('is freed when the file is abandoned, and the writer then takes nothing more', async () => {
    const hashes = counted();
    const writer = new ContentWriter(memorySink(), null, hashes.factory);
    await writer.write(randomBytes(CONTENT_CHUNK_BYTES + 1));
    writer.abort();
    expect(hashes.aborted).toBe(1);
    await expect(writer.write(Buffer.from('x'))).rejects.toThrow(/after finish/);
  });
});

describe('ContentWriter chunk observer', () => {
  it('sees every chunk once, in file order, with its id: written, taken by id, and the last partial one', async () => {
    const content = randomBytes(4 * CONTENT_CHUNK_BYTES + 777);
    const chunk = (i: number): Buffer => content.subarray(i * CONTENT_CHUNK_BYTES, (i + 1) * CONTENT_CHUNK_BYTES);
    const seen: Array<{ id: string; bytes: string; stored: boolean }> = [];
    const writer = new ContentWriter(memorySink(), null, null, async (data, id, stored) => {
      // Awaited before writeStored resolves (its caller may then reuse the memory): the bytes are read after a turn.
      await new Promise((resolve) => setImmediate(resolve));
      seen.push({ id: id.toString('hex'), bytes: sha256(await data()).toString('hex'), stored });
    });
    await writer.write(content.subarray(0, CONTENT_CHUNK_BYTES + 10));
    await writer.write(content.subarray(CONTENT_CHUNK_BYTES + 10, 2 * CONTENT_CHUNK_BYTES));
    const lent = Buffer.from(chunk(2));
    const reads = { count: 0 };
    await writer.writeStored(storedChunk(lent, sha256(chunk(2)), reads));
    expect(reads.count).toBe(1);
    lent.fill(0);
    await writer.write(content.subarray(3 * CONTENT_CHUNK_BYTES));
    const { content: stored } = await writer.finish();
    expect(seen.map((s) => s.id)).toEqual(stored.chunks.map((id) => id.toString('hex')));
    expect(seen.map((s) => s.bytes)).toEqual([0, 1, 2, 3, 4].map((i) => sha256(content.subarray(i * CONTENT_CHUNK_BYTES, (i + 1) * CONTENT_CHUNK_BYTES)).toString('hex')));
    expect(seen.map((s) => s.stored)).toEqual([false, false, true, false, false]);
  });

  it('does not see the chunks of a stored prefix', async () => {
    const content = randomBytes(3 * CONTENT_CHUNK_BYTES);
    const held = [sha256(content.subarray(0, CONTENT_CHUNK_BYTES))];
    const hash = createHash('sha256').update(content.subarray(0, CONTENT_CHUNK_BYTES));
    const seen: string[] = [];
    const writer = new ContentWriter(memorySink(), { chunks: held, whole: inlineWholeHash(hash) }, inlineWholeHash, (_data, id) => {
      seen.push(id.toString('hex'));
    });
    await writer.write(content.subarray(CONTENT_CHUNK_BYTES));
    const { content: stored } = await writer.finish();
    expect(stored.chunks).toHaveLength(3);
    expect(seen).toEqual(stored.chunks.slice(1).map((id) => id.toString('hex')));
  });
});
