import { randomFillSync } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeDelta, delta, encodeDelta, patchInto, signature } from '@berth/delta';
import { MiB } from './inputs';

export const BIG_FILE_BYTES = 4 * 1024 * MiB;
/** Real data every 256 MiB; the rest is a hole that reads as zeros. */
const ISLAND_BYTES = MiB;
const ISLAND_EVERY = 256 * MiB;

export interface BigFileResult {
  readonly fileBytes: number;
  readonly peakRssMiB: number;
  readonly signatureSeconds: number;
  readonly deltaSeconds: number;
  readonly patchSeconds: number;
  readonly deltaBytes: number;
  readonly literalBytes: number;
}

/** A sparse 4 GiB file with 16 islands of random data; `changed` islands differ from the basis. */
async function writeSparse(path: string, changed: ReadonlySet<number>, islands: Buffer[]): Promise<void> {
  const handle = await open(path, 'w');
  try {
    await handle.truncate(BIG_FILE_BYTES);
    for (let i = 0; i < islands.length; i++) {
      const data = changed.has(i) ? randomFillSync(Buffer.allocUnsafe(ISLAND_BYTES)) : (islands[i] as Buffer);
      await handle.write(data, 0, data.length, i * ISLAND_EVERY + 12_345);
    }
  } finally {
    await handle.close();
  }
}

/** Writes the two sparse 4 GiB versions (in the parent: their buffers must not count in the child's RSS). */
export async function prepareBigFiles(dir: string): Promise<{ basisPath: string; newPath: string }> {
  const islands = Array.from({ length: BIG_FILE_BYTES / ISLAND_EVERY }, () => randomFillSync(Buffer.allocUnsafe(ISLAND_BYTES)));
  const basisPath = join(dir, 'big-basis');
  const newPath = join(dir, 'big-new');
  await writeSparse(basisPath, new Set(), islands);
  await writeSparse(newPath, new Set([3, 9]), islands);
  return { basisPath, newPath };
}

/**
 * Runs in a child process of its own so that its peak RSS (getrusage ru_maxrss) is this pipeline's alone:
 * signature of the basis, delta of the new version written to a file frame by frame, patch reading that file
 * and verifying the whole-file hash (BLAKE3) of the 4 GiB it rebuilds (the output is counted, not stored: 4 GiB of writes would
 * measure the disk, not the memory).
 */
export async function runBigFile(basisPath: string, newPath: string, deltaPath: string): Promise<BigFileResult> {
  let start = performance.now();
  const sig = await signature(basisPath);
  const signatureSeconds = (performance.now() - start) / 1000;

  start = performance.now();
  const stream = delta(sig, newPath);
  let deltaBytes = 0;
  const out = await open(deltaPath, 'w');
  try {
    for await (const frame of encodeDelta(stream)) {
      await out.write(frame);
      deltaBytes += frame.length;
    }
  } finally {
    await out.close();
  }
  const deltaSeconds = (performance.now() - start) / 1000;

  start = performance.now();
  const deltaFile = createReadStream(deltaPath, { highWaterMark: MiB });
  const rebuilt = await patchInto(basisPath, decodeDelta(deltaFile as AsyncIterable<Buffer>), () => undefined);
  const patchSeconds = (performance.now() - start) / 1000;
  if (rebuilt !== BIG_FILE_BYTES) throw new Error(`patch rebuilt ${rebuilt} bytes, expected ${BIG_FILE_BYTES}`);
  return {
    fileBytes: BIG_FILE_BYTES,
    peakRssMiB: await peakRssMiB(),
    signatureSeconds,
    deltaSeconds,
    patchSeconds,
    deltaBytes,
    literalBytes: stream.stats.literalBytes,
  };
}

/**
 * Peak resident set of this process: VmHWM from /proc/self/status, which starts afresh at exec. (getrusage's
 * ru_maxrss does not: a spawned child inherits its parent's high-water mark, here the 256 MiB cases' buffers.)
 */
async function peakRssMiB(): Promise<number> {
  const status = await readFile('/proc/self/status', 'utf8');
  const match = /^VmHWM:\s+(\d+) kB/m.exec(status);
  return match?.[1] !== undefined ? Number(match[1]) / 1024 : process.resourceUsage().maxRSS / 1024;
}
