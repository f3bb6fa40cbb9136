import { createHash, randomBytes } from 'node:crypto';
import { ContentWriter } from './content-writer';
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

describe('ContentWriter after a stored prefix', () => {
  it('continues a file after its stored leading chunks: same chunks and whole-file hash as writing it all', async () => {
    const content = randomBytes(3 * CONTENT_CHUNK_BYTES + 12_345);
    const sink = memorySink();
    const all = new ContentWriter(sink);
    await all.write(content);
    const whole = await all.finish();

    const held = whole.content.chunks.slice(0, 2);
    const hash = createHash('sha256').update(content.subarray(0, 2 * CONTENT_CHUNK_BYTES));
    const resumed = new ContentWriter(sink, { chunks: held, whole: hash });
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
    const writer = new ContentWriter(sink, { chunks: [first.id, second.id], whole: createHash('sha256').update(content) });
    const written = await writer.finish();
    expect(written.size).toBe(BigInt(content.length));
    expect(written.content.sha256.equals(sha256(content))).toBe(true);
    expect(written.content.chunks).toEqual([first.id, second.id]);
  });
});
