import { type RunResponse } from '@berth/contracts';
import { type Column, renderFields, renderTable } from './table';
import { elapsedMs, formatBytes, formatCount, formatDuration, formatRate, formatTimestamp } from './units';

function shortDuration(run: RunResponse, now: Date): string {
  const ms = elapsedMs(run.startedAt, run.finishedAt, now);
  return ms === null ? '-' : formatDuration(ms);
}

function filesCell(run: RunResponse): string {
  const { filesDone, filesTotal } = run.counters;
  return filesTotal > 0 && filesTotal !== filesDone ? `${formatCount(filesDone)}/${formatCount(filesTotal)}` : formatCount(filesDone);
}

export function runColumns(now: Date): readonly Column<RunResponse>[] {
  return [
    { header: 'ID', value: (r) => r.id },
    { header: 'HOST', value: (r) => r.hostName },
    { header: 'KIND', value: (r) => r.kind },
    { header: 'STATUS', value: (r) => r.status },
    { header: 'CREATED', value: (r) => formatTimestamp(r.createdAt) },
    { header: 'TIME', value: (r) => shortDuration(r, now), align: 'right' },
    { header: 'FILES', value: filesCell, align: 'right' },
    { header: 'BYTES', value: (r) => formatBytes(r.counters.bytesDone), align: 'right' },
    { header: 'SENT', value: (r) => formatBytes(r.counters.bytesSent), align: 'right' },
    { header: 'ERRORS', value: (r) => formatCount(r.counters.fileErrors), align: 'right' },
  ];
}

export function formatRunTable(runs: readonly RunResponse[], now: Date = new Date()): string {
  if (runs.length === 0) return 'No runs yet. Start one with `berth backup HOST`.\n';
  return renderTable(runs, runColumns(now));
}

/** Average throughput of a run over its own duration, in bytes per second (null before it started). */
export function runRate(run: RunResponse, now: Date = new Date()): number | null {
  const ms = elapsedMs(run.startedAt, run.finishedAt, now);
  if (ms === null || ms === 0) return null;
  return (run.counters.bytesDone * 1000) / ms;
}

export function formatRunDetail(run: RunResponse, now: Date = new Date()): string {
  const c = run.counters;
  const rate = runRate(run, now);
  const fields: [string, string][] = [
    ['run', run.id],
    ['host', `${run.hostName} (${run.hostId})`],
    ['kind', run.kind],
    ['status', run.status],
    ['attempts', String(run.attempts)],
    ['created', formatTimestamp(run.createdAt)],
    ['started', formatTimestamp(run.startedAt)],
    ['finished', formatTimestamp(run.finishedAt)],
    ['duration', shortDuration(run, now)],
    ['files', `${formatCount(c.filesDone)} of ${formatCount(c.filesTotal)} (${formatCount(c.filesSkipped)} skipped, ${formatCount(c.fileErrors)} ${c.fileErrors === 1 ? 'error' : 'errors'})`],
    ['bytes', `${formatBytes(c.bytesDone)} of ${formatBytes(c.bytesTotal)}${rate === null ? '' : ` at ${formatRate(rate)}`}`],
    ['sent', formatBytes(c.bytesSent)],
    ['stored', formatBytes(c.bytesStored)],
  ];
  if (run.snapshotId !== null) fields.push(['snapshot', run.snapshotId]);
  if (run.restore !== null) {
    fields.push(['restore of', run.restore.snapshotId]);
    fields.push(['into', run.restore.targetDir]);
    if (run.restore.subPath !== null) fields.push(['sub-path', run.restore.subPath]);
  }
  if (run.checkpoint !== null) fields.push(['checkpoint', run.checkpoint]);
  if (run.error !== null) fields.push(['error', run.error]);
  let text = renderFields(fields);
  if (run.fileErrors.length > 0) {
    text += `\nFile errors (${run.fileErrors.length}${c.fileErrors > run.fileErrors.length ? ` of ${formatCount(c.fileErrors)}` : ''}):\n`;
    text += renderTable(run.fileErrors, [
      { header: 'PATH', value: (e) => e.path },
      { header: 'ERROR', value: (e) => e.message },
    ]).replace(/^/gm, '  ');
  }
  return text;
}
