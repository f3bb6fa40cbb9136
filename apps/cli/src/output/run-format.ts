import { type RunAttemptResponse, type RunResponse } from '@berth/contracts';
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
  if (run.cancelRequestedAt !== null && run.status !== 'canceled') fields.push(['cancel', `requested ${formatTimestamp(run.cancelRequestedAt)}, the agent is stopping it`]);
  if (run.error !== null) fields.push(['error', run.error]);
  let text = renderFields(fields);
  if (run.attemptHistory.length > 0) {
    text += `\nAttempts (${run.attemptHistory.length}):\n`;
    text += formatAttemptTable(run.attemptHistory, now).replace(/^/gm, '  ');
    const phases = formatPhases(run);
    if (phases !== null) text += `\nPhases:\n${phases.replace(/^/gm, '  ')}`;
  }
  if (run.fileErrors.length > 0) {
    text += `\nFile errors (${run.fileErrors.length}${c.fileErrors > run.fileErrors.length ? ` of ${formatCount(c.fileErrors)}` : ''}):\n`;
    text += renderTable(run.fileErrors, [
      { header: 'PATH', value: (e) => e.path },
      { header: 'ERROR', value: (e) => e.message },
    ]).replace(/^/gm, '  ');
  }
  return text;
}

/**
 * Where the run spent its time: queued until its first attempt, then each attempt's phases as its agent
 * measured them, e.g. "#2  prepare 0.1 s  connect 0.0 s  admission 3.2 s  transfer 41.0 s". Null when there
 * is nothing to show.
 */
export function formatPhases(run: RunResponse): string | null {
  const first = run.attemptHistory[0];
  const lines: string[] = [];
  const queuedMs = first === undefined ? null : elapsedMs(run.createdAt, first.startedAt);
  if (queuedMs !== null) lines.push(`queued ${formatDuration(Math.max(0, queuedMs))} before attempt 1`);
  for (const attempt of run.attemptHistory) {
    if (attempt.phases.length === 0) continue;
    const parts = attempt.phases.map((phase) => `${phase.name} ${formatDuration(Math.max(0, elapsedMs(phase.startedAt, phase.endedAt) ?? 0))}`);
    lines.push(`#${attempt.number}  ${parts.join('  ')}`);
  }
  return lines.length === 0 ? null : `${lines.join('\n')}\n`;
}

/** Outcome of an attempt as shown: "running" while it is open. */
function attemptOutcome(attempt: RunAttemptResponse): string {
  return attempt.outcome ?? 'running';
}

/** One row per attempt: when, how long, where it resumed from, bytes sent and re-sent, and why it ended. */
export function formatAttemptTable(attempts: readonly RunAttemptResponse[], now: Date = new Date()): string {
  return renderTable(attempts, [
    { header: '#', value: (a) => String(a.number), align: 'right' },
    { header: 'STARTED', value: (a) => formatTimestamp(a.startedAt) },
    { header: 'TIME', value: (a) => formatDuration(elapsedMs(a.startedAt, a.endedAt, now) ?? 0), align: 'right' },
    { header: 'OUTCOME', value: attemptOutcome },
    { header: 'RESUMED FROM', value: (a) => a.resumedFrom ?? '(start)' },
    { header: 'SENT', value: (a) => formatBytes(a.bytesSent), align: 'right' },
    { header: 'RESENT', value: (a) => (a.bytesResent === null ? '-' : formatBytes(a.bytesResent)), align: 'right' },
    { header: 'END REASON', value: (a) => a.endReason ?? '' },
  ]);
}

/** How a queued run is announced: a new run, or one queued again by `berth retry`. */
export interface QueuedAnnouncement {
  /** Printed on stdout without --wait. */
  readonly headline: string;
  /** Printed on stderr before following the run with --wait. */
  readonly waitLine: string;
}

export function newRunAnnouncement(run: RunResponse): QueuedAnnouncement {
  return {
    headline: `${run.kind === 'backup' ? 'Backup' : 'Restore'} of ${run.hostName} queued: run ${run.id}`,
    waitLine: `${run.kind} run ${run.id} queued for ${run.hostName}`,
  };
}

/** What `berth retry` says about the run it queued again. */
export function retryAnnouncement(run: RunResponse): QueuedAnnouncement {
  const resume = run.checkpoint === null ? 'starts from the beginning (no directory was committed yet)' : `resumes after ${run.checkpoint}`;
  const next = `attempt ${run.attempts + 1}`;
  return {
    headline: `${run.kind === 'backup' ? 'Backup' : 'Restore'} run ${run.id} of ${run.hostName} queued again: ${next} ${resume}`,
    waitLine: `${run.kind} run ${run.id} queued again for ${run.hostName}: ${next} ${resume}`,
  };
}

/** What `berth cancel` says: canceled at once, or the agent is stopping it. */
export function cancelAnnouncement(run: RunResponse): string {
  const label = `${run.kind === 'backup' ? 'Backup' : 'Restore'} run ${run.id} of ${run.hostName}`;
  if (run.status === 'canceled') return `${label} canceled${run.checkpoint === null ? '' : `; \`berth retry ${run.id}\` resumes after ${run.checkpoint}`}`;
  return `${label}: cancel requested; its agent stops it within seconds (follow it with \`berth run ${run.id}\`, or pass --wait)`;
}
