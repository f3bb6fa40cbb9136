import { open } from 'node:fs/promises';
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
 * Our pipeline on files: signature of the basis (file read), delta of the new version (file read, tokens
 * encoded into 1 MiB frames kept in memory, as they would be sent), patch of the basis with the decoded frames
 * into an output file (written, not synced, like rsync's default).
 */
export async function runOurs(basisPath: string, newPath: string, outPath: string, hash?: WholeFileHash): Promise<OurResult> {
  const sig = await timed(() => signature(basisPath));
  const signatureBytes = encodeSignature(sig.value).length;

  const stream = delta(sig.value, newPath, hash === undefined ? {} : { hash });
  const frames: Buffer[] = [];
  const diffed = await timed(async () => {
    for await (const frame of encodeDelta(stream)) frames.push(frame);
  });
  const deltaBytes = frames.reduce((sum, frame) => sum + frame.length, 0);

  const patched = await timed(async () => {
    const out = await open(outPath, 'w');
    try {
      await patchInto(basisPath, decodeDelta(frames), async (chunk) => {
        await out.write(chunk);
      });
    } finally {
      await out.close();
    }
  });
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
