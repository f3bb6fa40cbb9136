import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BatchReader } from './batch-reader';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('BatchReader buffer reuse', () => {
  let dir: string;
  const reader = new BatchReader();
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'batch-reader-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function files(prefix: string, sizes: readonly number[]): Array<{ path: Buffer; expectedSize: number; data: Buffer }> {
    return sizes.map((size, i) => {
      const data = randomBytes(size);
      const file = path.join(dir, `${prefix}-${i}`);
      writeFileSync(file, data);
      return { path: Buffer.from(file), expectedSize: size, data };
    });
  }

  it('gives a batch buffer back only once every file of it was released, and reads later batches intact into it', async () => {
    const first = files('a', [3000, 0, 70_000, 5]);
    const contents = await reader.read(first);
    contents.forEach((content, i) => {
      const expected = first[i]!.data;
      expect(Buffer.concat(content.pieces).equals(expected)).toBe(true);
      expect(content.sha256.equals(createHash('sha256').update(expected).digest())).toBe(true);
    });
    const view = contents[0]!.pieces[0]!;
    // Released twice, one file still out: the buffer stays (a double release must not count twice).
    contents[0]!.release?.();
    contents[0]!.release?.();
    contents[1]!.release?.();
    contents[2]!.release?.();
    await sleep(20);
    expect(view.length).toBe(3000);
    contents[3]!.release?.();
    // Handed back to the reader thread: the memory is no longer this thread's, so a stale view reads as empty.
    expect(view.length).toBe(0);
    for (let round = 0; round < 3; round++) {
      // Each batch fits the buffer given back: read over the previous batch's bytes.
      const next = files(`b${round}`, [1, 64 * 1024, 9000, 100_000 - round * 7]);
      const again = await reader.read(next);
      again.forEach((content, i) => {
        const expected = next[i]!.data;
        expect(Buffer.concat(content.pieces).equals(expected)).toBe(true);
        expect(content.sha256.equals(createHash('sha256').update(expected).digest())).toBe(true);
        content.release?.();
      });
    }
  });
});
