/**
 * Cleanups to run when the operator presses Ctrl-C: the demo stops the processes it started. Each returns
 * a function that removes it again.
 */
type Cleanup = () => Promise<void>;

const cleanups = new Set<Cleanup>();

export function onInterrupt(cleanup: Cleanup): () => void {
  cleanups.add(cleanup);
  return () => {
    cleanups.delete(cleanup);
  };
}

/** Runs every registered cleanup (at most `timeoutMs` in all), in reverse order of registration. */
export async function runInterruptCleanups(timeoutMs = 15_000): Promise<void> {
  const all = [...cleanups].reverse();
  cleanups.clear();
  const run = (async () => {
    for (const cleanup of all) await cleanup().catch(() => undefined);
  })();
  await Promise.race([run, new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())]);
}
