import { type FleetHostReport, type FleetReport, type HostHistoryEntry, type HostHistoryResponse } from '@berth/contracts';
import { type Column, renderTable } from './table';
import { formatBytes, formatCount, formatDuration, formatRate, formatTimestamp } from './units';

/** Snapshot ages: "42m", "25h10m", then whole days and hours ("3d04h") past two days. */
export function formatAge(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '-';
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h${String(minutes % 60).padStart(2, '0')}m`;
  return `${Math.floor(hours / 24)}d${String(hours % 24).padStart(2, '0')}h`;
}

/** Objective hours as written in BERTH_RPO_HOURS ("26 h", "1.5 h"). */
function hours(value: number): string {
  return `${value} h`;
}

const FLEET_COLUMNS: readonly Column<FleetHostReport>[] = [
  { header: 'HOST', value: (h) => h.hostName },
  { header: 'AGENT', value: (h) => h.hostStatus },
  { header: 'RPO', value: (h) => (h.breachesRpo ? 'BREACH' : 'ok') },
  { header: 'LAST SNAPSHOT', value: (h) => formatTimestamp(h.lastSnapshot?.publishedAt ?? null) },
  { header: 'AGE', value: (h) => (h.lastSnapshot === null ? 'never' : formatAge(h.lastSnapshot.ageSeconds)), align: 'right' },
  { header: 'LAST RUN', value: (h) => h.lastRun?.status ?? '-' },
  { header: 'FILES', value: (h) => (h.lastSuccessfulRun === null ? '-' : formatCount(h.lastSuccessfulRun.files)), align: 'right' },
  { header: 'SIZE', value: (h) => (h.lastSuccessfulRun === null ? '-' : formatBytes(h.lastSuccessfulRun.bytes)), align: 'right' },
  { header: 'SENT', value: (h) => (h.lastSuccessfulRun === null ? '-' : formatBytes(h.lastSuccessfulRun.bytesSent)), align: 'right' },
  { header: 'STORED', value: (h) => (h.lastSuccessfulRun === null ? '-' : formatBytes(h.lastSuccessfulRun.bytesStored)), align: 'right' },
  { header: 'TIME', value: (h) => (h.lastSuccessfulRun?.durationMs == null ? '-' : formatDuration(h.lastSuccessfulRun.durationMs)), align: 'right' },
  { header: 'RATE', value: (h) => (h.lastSuccessfulRun?.bytesPerSecond == null ? '-' : formatRate(h.lastSuccessfulRun.bytesPerSecond)), align: 'right' },
];

/**
 * The fleet at a glance: one line per host (its newest snapshot, whether it breaches the objective, its last run,
 * and the figures of its last successful run), then the totals. Hosts whose last run failed get their error below.
 */
export function formatFleetReport(report: FleetReport): string {
  if (report.hosts.length === 0) return 'No hosts yet. Add one with `berth host add NAME --path DIR`.\n';
  const t = report.totals;
  let text = renderTable(report.hosts, FLEET_COLUMNS);
  const failures = report.hosts.filter((h) => h.lastRun?.error != null && (h.lastRun.status === 'failed' || h.lastRun.status === 'canceled'));
  if (failures.length > 0) {
    text += '\nLast run failed:\n';
    text += renderTable(failures, [
      { header: 'HOST', value: (h) => h.hostName },
      { header: 'RUN', value: (h) => h.lastRun?.id ?? '' },
      { header: 'ERROR', value: (h) => h.lastRun?.error ?? '' },
    ]).replace(/^/gm, '  ');
  }
  const never = t.neverBackedUp > 0 ? ` (${formatCount(t.neverBackedUp)} never backed up)` : '';
  text +=
    `\n${formatCount(t.hosts)} ${t.hosts === 1 ? 'host' : 'hosts'}: ${formatCount(t.protected)} protected, ` +
    `${formatCount(t.breaching)} breaching the ${hours(report.rpoHours)} objective${never}; last run failed on ${formatCount(t.lastRunFailed)}\n` +
    `${formatCount(t.snapshots)} ${t.snapshots === 1 ? 'snapshot' : 'snapshots'}, ${formatBytes(t.bytesStored)} stored; ` +
    `newest snapshots hold ${formatBytes(t.bytesProtected)}; their runs sent ${formatBytes(t.lastRunsBytesSent)}\n`;
  return text;
}

const HISTORY_COLUMNS: readonly Column<HostHistoryEntry>[] = [
  { header: 'RUN', value: (r) => r.runId },
  { header: 'STATUS', value: (r) => r.status },
  { header: 'CREATED', value: (r) => formatTimestamp(r.createdAt) },
  { header: 'TIME', value: (r) => (r.durationMs === null ? '-' : formatDuration(r.durationMs)), align: 'right' },
  { header: 'FILES', value: (r) => formatCount(r.files), align: 'right' },
  { header: 'BYTES', value: (r) => formatBytes(r.bytes), align: 'right' },
  { header: 'SENT', value: (r) => formatBytes(r.bytesSent), align: 'right' },
  { header: 'STORED', value: (r) => formatBytes(r.bytesStored), align: 'right' },
  { header: 'ERRORS', value: (r) => formatCount(r.fileErrors), align: 'right' },
];

/** A host's backup runs, newest first. */
export function formatHostHistory(history: HostHistoryResponse): string {
  if (history.runs.length === 0) return `No backups of ${history.hostName} yet. Start one with \`berth backup ${history.hostName}\`.\n`;
  return renderTable(history.runs, HISTORY_COLUMNS);
}
