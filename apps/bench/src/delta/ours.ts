import { createReadStream } from 'node:fs';
import { open, rm, stat } from 'node:fs/promises';
import { decodeDelta, delta, encodeDelta, encodeSignature, patchInto, signature, type WholeFileHash } from '@berth/delta';

export interface PhaseTiming {
  /** Wall-clock seconds. */
  readonly seconds: number;
  /** CPU seconds of the whole process (main and helper threads). */
  readonly cpuSeconds: number;
}

export interface OurResult {
  readonly signature: PhaseTiming;
  readonly delta: PhaseTiming;
  readonly patch: PhaseTiming;
  readonly signatureBytes: number;
  readonly deltaBytes: number;
  readonly literalBytes: number;
  readonly blockLength: number;
}

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; timing: PhaseTiming }> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  const value = await work();
  const seconds = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  return { value, timing: { seconds, cpuSeconds: (used.user + used.system) / 1e6 } };
}

/**
 * Our pipeline on files, as `berth delta signature|diff|patch` runs it: signature of the basis (file read), delta
 * of the new version (file read, tokens encoded into 1 MiB frames written to a delta file), patch of the basis
 * with the delta read back from that file into an output file. With `basisChunks` (and the content hash) the delta is
 * a protocol 8 agent's: given the basis's chunk ids, it copies the chunks it finds unchanged without hashing their blocks. Files are written, not synced, like rsync's
 * default. (The frames were once kept in memory instead: on this VM 256 MiB of fresh memory cost about 1 CPU
 * second of page faults, which measured the machine rather than the engine; a sender hands its frames on.)
 */
export async function runOurs(basisPath: string, newPath: string, outPath: string, hash?: WholeFileHash, basisChunks?: Uint8Array): Promise<OurResult> {
  const sig = await timed(() => signature(basisPath));
  const signatureBytes = encodeSignature(sig.value).length;

  const stream = delta(sig.value, newPath, { ...(hash === undefined ? {} : { hash }), ...(basisChunks === undefined ? {} : { basisChunks }) });
  const deltaPath = `${outPath}.delta`;
  const diffed = await timed(async () => {
    const file = await open(deltaPath, 'w');
    try {
      for await (const frame of encodeDelta(stream)) await file.write(frame);
    } finally {
      await file.close();
    }
  });
  const deltaBytes = (await stat(deltaPath)).size;

  const patched = await timed(async () => {
    const out = await open(outPath, 'w');
    try {
      await patchInto(basisPath, decodeDelta(createReadStream(deltaPath, { highWaterMark: 1024 * 1024 })), async (chunk) => {
        await out.write(chunk);
      });
    } finally {
      await out.close();
    }
  });
  await rm(deltaPath, { force: true });
  return {
    signature: sig.timing,
    delta: diffed.timing,
    patch: patched.timing,
    signatureBytes,
    deltaBytes,
    literalBytes: stream.stats.literalBytes,
    blockLength: sig.value.blockLength,
  };
}
