/**
 * Every service process the harness started and has not seen exit. On exit of the harness' own process
 * (normal end, uncaught error, Jest worker shutdown) they are killed, so a failing test leaks nothing; the
 * orphan guard preloaded in each service covers the harness being killed outright.
 */
const live = new Set<number>();
let hooked = false;

function killAllNow(): void {
  for (const pid of live) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  live.clear();
}

export function trackProcess(pid: number): void {
  live.add(pid);
  if (!hooked) {
    hooked = true;
    process.once('exit', killAllNow);
  }
}

export function untrackProcess(pid: number): void {
  live.delete(pid);
}

export function trackedProcessIds(): number[] {
  return [...live];
}
