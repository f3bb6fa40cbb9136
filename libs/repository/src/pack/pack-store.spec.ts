import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDirs } from '../../test/support';
import { objectIdHex, sha256 } from '../ids';
import { ObjectKind } from './pack-format';
import { PackStore } from './pack-store';

const temp = tempDirs();
afterEach(() => temp.cleanup());

const MiB = 1024 * 1024;

/** Counts fdatasync calls on every file handle of this process (FileHandle is not exported; its prototype is shared). */
async function countDatasyncs(dir: string): Promise<jest.SpiedFunction<() => Promise<void>>> {
  const probe = await open(join(dir, 'probe'), 'w');
  const prototype = Object.getPrototypeOf(probe) as { datasync: () => Promise<void> };
  await probe.close();
  return jest.spyOn(prototype, 'datasync');
}

async function storeWith(syncBehindBytes: number, syncBehindMs = 0): Promise<{ store: PackStore; dir: string }> {
  const dir = await temp.make();
  await mkdir(join(dir, 'packs'));
  await mkdir(join(dir, 'tmp'));
  const store = await PackStore.open(join(dir, 'packs'), join(dir, 'tmp'), { readOnly: false, packTargetBytes: 64 * MiB, maxUnwrittenBytes: 64 * MiB, syncBehindBytes, syncBehindMs });
  return { store, dir };
}

let filler = 0;

/** Puts `count` blobs of `bytes` each, unlike any put before (a blob already stored is not appended again). */
async function putBlobs(store: PackStore, count: number, bytes: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const blob = Buffer.alloc(bytes, `blob ${filler++}`);
    const id = sha256(blob);
    await store.put(ObjectKind.Blob, id, objectIdHex(id), blob);
  }
}

async function settle(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

// Real files and fdatasyncs on a shared disk.
jest.setTimeout(30_000);

describe('PackStore, commits behind the appends', () => {
  afterEach(() => jest.restoreAllMocks());

  it('syncs a pack in the background every syncBehindBytes appended, so the commit after the last byte has little left', async () => {
    const { store, dir } = await storeWith(MiB);
    const datasyncs = await countDatasyncs(dir);
    // 6 MiB, as a large file arrives (2 MiB at a time): nobody asks for a commit, yet each 2 MiB is synced.
    for (let i = 1; i <= 3; i++) {
      await putBlobs(store, 4, MiB / 2);
      // As a stream goes on: more arrives while the commit behind it runs, and the next one starts after it.
      for (let more = 0; datasyncs.mock.calls.length < i && more < 500; more++) {
        await settle(20);
        await putBlobs(store, 1, MiB / 8);
      }
      expect(datasyncs.mock.calls.length).toBeGreaterThanOrEqual(i);
    }
    const behind = datasyncs.mock.calls.length;
    // The commit a run's end asks for still syncs what came after the last one behind.
    await putBlobs(store, 1, MiB / 4);
    await store.flush();
    expect(datasyncs.mock.calls.length).toBeGreaterThan(behind);
    await store.close();
  });

  it('syncs in the background syncBehindMs after the last commit once 1 MiB was appended, though less than syncBehindBytes', async () => {
    const { store, dir } = await storeWith(8 * MiB, 300);
    const datasyncs = await countDatasyncs(dir);
    // A slow stream: 1.5 MiB at once starts no commit, more past 300 ms later does.
    await putBlobs(store, 3, MiB / 2);
    expect(datasyncs).not.toHaveBeenCalled();
    await settle(350);
    await putBlobs(store, 1, MiB / 8);
    for (let waited = 0; datasyncs.mock.calls.length === 0 && waited < 5_000; waited += 10) await settle(10);
    expect(datasyncs.mock.calls.length).toBeGreaterThan(0);
    // Less than 1 MiB since that commit: time alone starts none.
    const behind = datasyncs.mock.calls.length;
    await putBlobs(store, 1, MiB / 4);
    await settle(350);
    await putBlobs(store, 1, MiB / 8);
    await settle(100);
    expect(datasyncs.mock.calls.length).toBe(behind);
    await store.close();
  });

  it('syncs nothing before a commit is asked for when syncBehindBytes is 0, or while less than it was appended', async () => {
    for (const syncBehindBytes of [0, 8 * MiB]) {
      const { store, dir } = await storeWith(syncBehindBytes);
      const datasyncs = await countDatasyncs(dir);
      // 6 MiB.
      await putBlobs(store, 12, MiB / 2);
      await settle(200);
      expect(datasyncs).not.toHaveBeenCalled();
      await store.flush();
      expect(datasyncs).toHaveBeenCalled();
      await store.close();
      jest.restoreAllMocks();
    }
  });
});
