/**
 * The commit after a large file's last byte, with and without commits behind the appends (syncBehindBytes): 60 MiB
 * of 1 MiB blobs put at a 100 Mbit/s link's pace (as a receiver stores a large file), then one flush, timed; three
 * rounds of each, alternated. Run:
 *   node -r @swc-node/register libs/repository/test/bench/sync-behind.ts [DIR]
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Repository } from '../../src/repository';

const MiB = 1024 * 1024;
/** Below the default pack size (64 MiB): no pack is sealed on the way, whose sync would do the work. */
const FILE_MIB = 60;
/** 1 MiB at 100 Mbit/s with TCP's overhead. */
const MS_PER_MIB = 84;

async function flushAfterFile(dir: string, syncBehindBytes: number): Promise<number> {
  const repo = await Repository.open(dir, { syncBehindBytes });
  try {
    const start = Date.now();
    for (let i = 0; i < FILE_MIB; i++) {
      await repo.putBlob(randomBytes(MiB));
      const wait = start + (i + 1) * MS_PER_MIB - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
    const flushStart = process.hrtime.bigint();
    await repo.flush();
    return Number(process.hrtime.bigint() - flushStart) / 1e6;
  } finally {
    await repo.close();
  }
}

async function main(): Promise<void> {
  const dir = process.argv[2] ?? (await mkdtemp(join(tmpdir(), 'berth-sync-behind-')));
  try {
    for (let round = 0; round < 3; round++) {
      for (const syncBehindBytes of [0, 8 * MiB]) {
        const ms = await flushAfterFile(join(dir, `repo-${round}-${syncBehindBytes}`), syncBehindBytes);
        process.stdout.write(`syncBehindBytes ${syncBehindBytes / MiB} MiB: the flush after ${FILE_MIB} MiB took ${ms.toFixed(1)} ms\n`);
      }
    }
  } finally {
    if (process.argv[2] === undefined) await rm(dir, { recursive: true, force: true });
  }
}

void main();
