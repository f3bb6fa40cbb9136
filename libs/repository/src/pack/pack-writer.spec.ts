import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDirs } from '../../test/support';
import { sha256 } from '../ids';
import { ObjectKind, type PackEntry } from './pack-format';
import { PackWriter, pooledSegmentCount } from './pack-writer';

const temp = tempDirs();
afterEach(() => temp.cleanup());

/** Small records (copied into segments), about `totalBytes` of them. */
function smallRecords(totalBytes: number): Buffer[] {
  const out: Buffer[] = [];
  for (let bytes = 0; bytes < totalBytes; ) {
    const record = randomBytes(512 + Math.floor(Math.random() * 7680));
    out.push(record);
    bytes += record.length;
  }
  return out;
}

function appendAll(writer: PackWriter, records: readonly Buffer[]): PackEntry[] {
  return records.map((record) => writer.append(ObjectKind.Blob, sha256(record), record));
}

async function expectInFile(path: string, entries: readonly PackEntry[], records: readonly Buffer[]): Promise<void> {
  const file = await readFile(path);
  const wrong = entries.filter((entry, i) => !file.subarray(entry.offset, entry.offset + entry.length).equals(records[i] as Buffer));
  expect(wrong).toEqual([]);
}

describe('PackWriter segments', () => {
  it('keeps every segment until its records are written, then reuses it without touching what was written', async () => {
    const dir = await temp.make();
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    // 24 MiB of small records while nothing may be written yet: six segments' worth, all still needed.
    const first = new PackWriter(join(dir, 'first.pack'), held);
    const firstRecords = smallRecords(24 * 1024 * 1024);
    const firstEntries = appendAll(first, firstRecords);
    const pending = firstEntries.filter((entry, i) => !first.readPending(entry.offset, entry.length)?.equals(firstRecords[i] as Buffer));
    expect(pending).toEqual([]);
    release();
    await first.seal();
    await expectInFile(join(dir, 'first.pack'), firstEntries, firstRecords);
    expect(pooledSegmentCount()).toBeGreaterThan(0);

    // A second pack fills the reused segments, syncing as it goes so they come back to the pool and out again.
    const second = new PackWriter(join(dir, 'second.pack'), Promise.resolve());
    const secondRecords = smallRecords(24 * 1024 * 1024);
    const secondEntries: PackEntry[] = [];
    for (let from = 0; from < secondRecords.length; from += 500) {
      const batch = secondRecords.slice(from, from + 500);
      const entries = appendAll(second, batch);
      secondEntries.push(...entries);
      expect(entries.filter((entry, i) => !second.readPending(entry.offset, entry.length)?.equals(batch[i] as Buffer))).toEqual([]);
      await second.sync();
    }
    await second.seal();
    await expectInFile(join(dir, 'second.pack'), secondEntries, secondRecords);
    await expectInFile(join(dir, 'first.pack'), firstEntries, firstRecords);
  });

  it('writes a record larger than a segment from a segment of its own', async () => {
    const dir = await temp.make();
    const writer = new PackWriter(join(dir, 'large.pack'), Promise.resolve());
    const records = [randomBytes(100), randomBytes(5 * 1024 * 1024), randomBytes(100)];
    // Given in parts, a record is copied whatever its size.
    const entries = records.map((record) => writer.append(ObjectKind.Blob, sha256(record), [record.subarray(0, 10), record.subarray(10)]));
    expect(writer.readPending(entries[1]!.offset, entries[1]!.length)?.equals(records[1] as Buffer)).toBe(true);
    await writer.seal();
    await expectInFile(join(dir, 'large.pack'), entries, records);
  });
});
