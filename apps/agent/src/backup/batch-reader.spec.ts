import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BatchReader, type SpareLimits } from './batch-reader';
import { type FileContent } from './file-reader';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface TestFile {
  readonly path: Buffer;
  readonly expectedSize: number;
  readonly data: Buffer;
}

describe('BatchReader buffer reuse', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'batch-reader-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function files(prefix: string, sizes: readonly number[]): TestFile[] {
    return sizes.map((size, i) => {
      const data = randomBytes(size);
      const file = path.join(dir, `${prefix}-${i}`);
      writeFileSync(file, data);
      return { path: Buffer.from(file), expectedSize: size, data };
    });
  }

  function expectIntact(contents: readonly FileContent[], expected: readonly TestFile[]): void {
    expect(contents).toHaveLength(expected.length);
    contents.forEach((content, i) => {
      const data = expected[i]!.data;
      expect(content.size).toBe(data.length);
      expect(Buffer.concat(content.pieces).equals(data)).toBe(true);
      expect(content.sha256.equals(createHash('sha256').update(data).digest())).toBe(true);
    });
  }

  function releaseAll(contents: readonly FileContent[]): void {
    for (const content of contents) content.release?.();
  }

  function reader(limits: Partial<SpareLimits> = {}): BatchReader {
    return new BatchReader({ maxBuffers: 4, maxBytes: 16 * 1024 * 1024, idleMs: 60_000, ...limits });
  }

  it('gives a batch buffer back only once every file of it was released, and reads later batches intact into it', async () => {
    const batches = reader();
    // 3001 + 1 + 70,001 + 6 bytes of slots: a buffer of two 64 KiB steps.
    const first = files('a', [3000, 0, 70_000, 5]);
    const contents = await batches.read(first);
    expectIntact(contents, first);
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
      // Each batch fits the 128 KiB given back (about 109 KB of slots): read over the previous batch's bytes.
      const next = files(`b${round}`, [1, 40_000, 9000, 60_000 - round * 7]);
      const again = await batches.read(next);
      expectIntact(again, next);
      releaseAll(again);
    }
    expect(batches.stats).toEqual({ batches: 4, reused: 3 });
  });

  it('reads on the thread started ahead of its first batch, which it starts once', async () => {
    const batches = reader();
    const thread = batches.start();
    expect(batches.start()).toBe(thread);
    const some = files('s', [10, 20_000]);
    const contents = await batches.read(some);
    expectIntact(contents, some);
    releaseAll(contents);
    expect(batches.start()).toBe(thread);
    expect(batches.stats).toEqual({ batches: 1, reused: 0 });
  });

  it('reads a file that grew or shrank since its size was seen, in a reused buffer', async () => {
    const batches = reader();
    const warm = files('w', [100_000]);
    releaseAll(await batches.read(warm));
    const [grew, shrank, same] = files('g', [5000, 8000, 300]);
    // The batch asks for 5000 and 20,000 bytes: one file is now longer (read to its end), one shorter.
    const extra = randomBytes(70_000);
    appendFileSync(grew!.path, extra);
    const request = [
      { path: grew!.path, expectedSize: 5000, data: Buffer.concat([grew!.data, extra]) },
      { path: shrank!.path, expectedSize: 20_000, data: shrank!.data },
      same!,
    ];
    const contents = await batches.read(request);
    expectIntact(contents, request);
    releaseAll(contents);
    expect(batches.stats).toEqual({ batches: 2, reused: 1 });
  });

  it('reads into a new buffer when no buffer given back fits, or once the reader was idle', async () => {
    const batches = reader({ idleMs: 100 });
    releaseAll(await batches.read(files('s', [1000])));
    // 200 KB of slots do not fit the 64 KiB given back.
    const large = files('l', [100_000, 100_000]);
    const contents = await batches.read(large);
    expectIntact(contents, large);
    releaseAll(contents);
    expect(batches.stats).toEqual({ batches: 2, reused: 0 });
    await sleep(300);
    // Idle past idleMs: the spares were dropped.
    const later = files('i', [1000]);
    const after = await batches.read(later);
    expectIntact(after, later);
    expect(batches.stats).toEqual({ batches: 3, reused: 0 });
  });

  it('keeps no more spare bytes than its bound', async () => {
    const batches = reader({ maxBytes: 256 * 1024 });
    // Two buffers of 192 KiB given back: only one stays within 256 KiB.
    const one = await batches.read(files('m1', [150_000]));
    const two = await batches.read(files('m2', [150_000]));
    releaseAll(one);
    releaseAll(two);
    await sleep(20);
    const three = await batches.read(files('m3', [150_000]));
    const four = await batches.read(files('m4', [150_000]));
    releaseAll(three);
    releaseAll(four);
    expect(batches.stats).toEqual({ batches: 4, reused: 1 });
  });
});
