import { type SnapshotResponse } from '@berth/contracts';
import { type Column, renderTable } from './table';
import { formatBytes, formatCount, formatTimestamp } from './units';

const SNAPSHOT_COLUMNS: readonly Column<SnapshotResponse>[] = [
  { header: 'ID', value: (s) => s.id },
  { header: 'HOST', value: (s) => s.hostName },
  { header: 'PUBLISHED', value: (s) => formatTimestamp(s.publishedAt) },
  { header: 'FILES', value: (s) => formatCount(s.stats.files), align: 'right' },
  { header: 'DIRS', value: (s) => formatCount(s.stats.dirs), align: 'right' },
  { header: 'SIZE', value: (s) => formatBytes(s.stats.bytes), align: 'right' },
  { header: 'SENT', value: (s) => formatBytes(s.stats.bytesSent), align: 'right' },
  { header: 'STORED', value: (s) => formatBytes(s.stats.bytesStored), align: 'right' },
];

export function formatSnapshotTable(snapshots: readonly SnapshotResponse[], hostName: string): string {
  if (snapshots.length === 0) return `No snapshots of ${hostName} yet. Take one with \`berth backup ${hostName}\`.\n`;
  return renderTable(snapshots, SNAPSHOT_COLUMNS);
}
