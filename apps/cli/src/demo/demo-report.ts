import { type RunResponse } from '@berth/contracts';
import { type TreeComparison } from '@berth/harness';
import { type Column, renderTable } from '../output/table';
import { elapsedMs, formatBytes, formatCount, formatDuration, formatRate } from '../output/units';

export interface DemoStep {
  readonly label: string;
  readonly run: RunResponse;
}

/** Time a run took on the server's clock (started to finished). */
export function runDurationMs(run: RunResponse): number {
  return elapsedMs(run.startedAt, run.finishedAt) ?? 0;
}

const STEP_COLUMNS: readonly Column<DemoStep>[] = [
  { header: 'STEP', value: (s) => s.label },
  { header: 'STATUS', value: (s) => s.run.status },
  { header: 'FILES', value: (s) => formatCount(s.run.counters.filesDone), align: 'right' },
  { header: 'BYTES', value: (s) => formatBytes(s.run.counters.bytesDone), align: 'right' },
  { header: 'TIME', value: (s) => formatDuration(runDurationMs(s.run)), align: 'right' },
  { header: 'RATE', value: (s) => (runDurationMs(s.run) > 0 ? formatRate((s.run.counters.bytesDone * 1000) / runDurationMs(s.run)) : '-'), align: 'right' },
  { header: 'SENT', value: (s) => (s.run.kind === 'backup' ? formatBytes(s.run.counters.bytesSent) : '-'), align: 'right' },
  { header: 'STORED', value: (s) => (s.run.kind === 'backup' ? formatBytes(s.run.counters.bytesStored) : '-'), align: 'right' },
];

export function formatDemoSteps(steps: readonly DemoStep[]): string {
  return renderTable(steps, STEP_COLUMNS);
}

/** "3,061 entries identical: content, types, modes, ..., mtime exact to the ns" or the first differences. */
export function formatVerification(comparison: TreeComparison, ownershipCompared: boolean): string {
  const m = comparison.mtime;
  const mtime =
    m.exact === m.compared
      ? 'mtime exact to the ns'
      : `mtime within ${m.maxDeviationNs} ns (exact on ${formatCount(m.exact)} of ${formatCount(m.compared)} entries)`;
  const what = ['content', 'types', 'permission bits incl. setuid/setgid/sticky', ...(ownershipCompared ? ['uid/gid'] : []), 'symlink targets', 'hard links', mtime];
  return `${formatCount(comparison.entries)} entries (${formatCount(comparison.files)} files, ${formatBytes(comparison.bytes)}) identical: ${what.join(', ')}`;
}
