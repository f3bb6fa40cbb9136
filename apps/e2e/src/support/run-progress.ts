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

/**
 * Waits, while the link is still cut, for the receiver's log to show the cut session ended by its idle timeout, and
 * returns the log. Not a fixed sleep: a receiver whose reading is paused (its queue full of what arrived before the
 * cut, worked off at the throttled repository's pace) rightly does not count that time as silence, so its idle
 * timeout starts only once it has caught up. Waits at least `minMs` (the cut must outlast the heartbeat interval and
 * the agent's idle timeout), at most `maxMs`; the caller asserts on what the log then says.
 */
export async function receiverLogAfterIdleEnd(logs: () => Promise<string>, idleTimeoutMs: number, minMs: number, maxMs: number): Promise<string> {
  const started = Date.now();
  const ended = new RegExp(`session \\S+ end .*no frame received for ${idleTimeoutMs} ms`);
  for (;;) {
    const text = await logs();
    const elapsed = Date.now() - started;
    if ((elapsed >= minMs && ended.test(text)) || elapsed >= maxMs) return text;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
