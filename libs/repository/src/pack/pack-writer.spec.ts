import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256 } from '../ids';
import { tempDirs } from '../../test/support';
import { ObjectKind, PACK_HEADER_BYTES, RECORD_HEADER_BYTES } from './pack-format';
import { PackWriter } from './pack-writer';

const temp = tempDirs();
afterEach(() => temp.cleanup());

const MiB = 1024 * 1024;

async function until(condition: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return true;
}

describe('PackWriter, data written by reference', () => {
  it('keeps small records in memory until a segment of them waits, and writes them in order from the buffers given', async () => {
    const writer = new PackWriter(join(await temp.make(), 'a.pack'), Promise.resolve());
    // Every third one is tiny and copied into the segment; the rest are queued as they are, each behind its header.
    const blobs = Array.from({ length: 40 }, (_, i) => Buffer.alloc(i % 3 === 0 ? 100 + i : 600 + i, i + 1));
    const entries = blobs.map((blob) => writer.append(ObjectKind.Blob, sha256(blob), blob));
    // Far below a segment's worth: nothing is written yet, and every record is served from memory.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(writer.unwrittenBytes).toBe(writer.appendEnd);
    for (const [i, entry] of entries.entries()) expect(writer.readPending(entry.offset, entry.length)?.equals(blobs[i]!)).toBe(true);
    expect(writer.readPending(entries[5]!.offset - 1, 2)).toBeNull();
    await writer.seal();
    const file = await readFile(writer.path);
    expect(file.length).toBe(PACK_HEADER_BYTES + blobs.reduce((sum, blob) => sum + RECORD_HEADER_BYTES + blob.length, 0));
    for (const [i, entry] of entries.entries()) expect(file.subarray(entry.offset, entry.offset + entry.length).equals(blobs[i]!)).toBe(true);
  });

  it('writes small views of large buffers without waiting for a sync, so they cannot keep many MiB alive', async () => {
    const writer = new PackWriter(join(await temp.make(), 'b.pack'), Promise.resolve());
    // The ends of five 1 MiB buffers (a delta's last copy from its basis): 3 kB of records, 5 MiB of memory.
    const views = Array.from({ length: 5 }, (_, i) => Buffer.alloc(MiB, i + 1).subarray(MiB - 600));
    for (const view of views) writer.append(ObjectKind.Blob, sha256(view), view);
    expect(await until(() => writer.unwrittenBytes === 0, 5000)).toBe(true);
    await writer.seal();
  });
});
