import { promises as fs } from 'node:fs';
import path from 'node:path';
import { type RunResponse } from '@berth/contracts';
import { type HarnessApi } from '@berth/harness';

/** Polls the run until `ready` holds (e.g. a directory committed and some bytes sent); fails if it ends first. */
export async function waitForProgress(api: HarnessApi, runId: string, ready: (run: RunResponse) => boolean, what: string, timeoutMs = 60_000): Promise<RunResponse> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const run = await api.getRun(runId);
    if (ready(run)) return run;
    if (run.status !== 'queued' && run.status !== 'running') throw new Error(`run ${runId} ended ${run.status} (${run.error ?? 'no error'}) before ${what}`);
    if (Date.now() > deadline) throw new Error(`run ${runId} did not reach ${what} within ${timeoutMs} ms (now ${JSON.stringify(run.counters)})`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Bytes of regular files directly in each directory below root; the largest is "one directory's worth". */
export async function largestDirectoryBytes(root: string): Promise<number> {
  let largest = 0;
  const visit = async (dir: string): Promise<void> => {
    let bytes = 0;
    for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await visit(full);
      else if (entry.isFile()) bytes += (await fs.lstat(full)).size;
    }
    largest = Math.max(largest, bytes);
  };
  await visit(root);
  return largest;
}

/** Bytes of the regular files directly in the given directories (what committing them made durable). */
export async function committedDirectoryBytes(dirs: readonly string[]): Promise<number> {
  let bytes = 0;
  for (const dir of new Set(dirs)) {
    for (const entry of await fs.readdir(dir, { withFileTypes: true })) if (entry.isFile()) bytes += (await fs.lstat(path.join(dir, entry.name))).size;
  }
  return bytes;
}
