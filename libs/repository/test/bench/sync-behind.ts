/**
 * The commit after a large file's last byte, with and without commits behind the appends (syncBehindBytes and
 * syncBehindMs): a file of 1 MiB blobs put at a 100 Mbit/s link's pace (as a receiver stores a large file), then one
 * flush, timed. The file is 56 to 63 MiB, so its end falls at every point between two commits behind it; each size
 * runs with each setting, alternated, and the mean and the worst flush are printed. Run:
 *   node -r @swc-node/register libs/repository/test/bench/sync-behind.ts [DIR]
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Repository } from '../../src/repository';

const MiB = 1024 * 1024;
/** Below the default pack size (64 MiB): no pack is sealed on the way, whose sync would do the work. */
const FILE_MIB = [56, 57, 58, 59, 60, 61, 62, 63];
/** syncBehindBytes in MiB and syncBehindMs. */
const SETTINGS: ReadonlyArray<readonly [number, number]> = [
  [0, 0],
  [8, 0],
  [8, 100],
];
/** 1 MiB at 100 Mbit/s with TCP's overhead. */
const MS_PER_MIB = 84;

async function flushAfterFile(dir: string, fileMiB: number, syncBehindBytes: number, syncBehindMs: number): Promise<number> {
  const repo = await Repository.open(dir, { syncBehindBytes, syncBehindMs });
  try {
    const start = Date.now();
    for (let i = 0; i < fileMiB; i++) {
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
    const label = ([mib, ms]: readonly [number, number]): string => `syncBehindBytes ${mib} MiB, syncBehindMs ${ms}`;
    const flushes = SETTINGS.map(() => [] as number[]);
    for (const fileMiB of FILE_MIB) {
      for (const [index, setting] of SETTINGS.entries()) {
        const ms = await flushAfterFile(join(dir, `repo-${fileMiB}-${index}`), fileMiB, setting[0] * MiB, setting[1]);
        flushes[index]?.push(ms);
        process.stdout.write(`${label(setting)}: the flush after ${fileMiB} MiB took ${ms.toFixed(1)} ms\n`);
      }
    }
    for (const [index, setting] of SETTINGS.entries()) {
      const times = flushes[index] ?? [];
      const mean = times.reduce((sum, ms) => sum + ms, 0) / times.length;
      process.stdout.write(`${label(setting)}: flush mean ${mean.toFixed(1)} ms, worst ${Math.max(...times).toFixed(1)} ms over ${times.length} file sizes\n`);
    }
  } finally {
    if (process.argv[2] === undefined) await rm(dir, { recursive: true, force: true });
  }
}

void main();
