/**
 * Reporting API types (GET /reports/fleet, GET /hosts/:idOrName/history). Same conventions as api.ts: ISO-8601
 * timestamps, byte counts as numbers.
 */
import { type HostStatus, type RunStatus } from './api';

/** The snapshot a host can be restored from today: its newest. */
export interface ReportSnapshot {
  id: string;
  runId: string;
  publishedAt: string;
  /** Seconds between publishedAt and the report's generatedAt. */
  ageSeconds: number;
}

/** The backup run that published the host's newest snapshot (succeeded or partial). */
export interface ReportSuccessfulRun {
  id: string;
  status: RunStatus;
  startedAt: string | null;
  finishedAt: string | null;
  /** finishedAt - startedAt; null when either is unknown. */
  durationMs: number | null;
  /** From the snapshot's statistics: files and bytes in the snapshot, bytes sent and newly stored by the run. */
  files: number;
  bytes: number;
  bytesSent: number;
  bytesStored: number;
  /** bytes / duration (the tree's size over the run's wall time), null without a duration. */
  bytesPerSecond: number | null;
}

/** The host's latest backup run, whatever its outcome. */
export interface ReportLastRun {
  id: string;
  status: RunStatus;
  createdAt: string;
  finishedAt: string | null;
  error: string | null;
}

export interface FleetHostReport {
  hostId: string;
  hostName: string;
  hostStatus: HostStatus;
  lastSeenAt: string | null;
  /** The recovery point objective this host is held to, in hours. */
  rpoHours: number;
  /** True when the host has no snapshot newer than rpoHours (including a host never backed up). */
  breachesRpo: boolean;
  lastSnapshot: ReportSnapshot | null;
  lastSuccessfulRun: ReportSuccessfulRun | null;
  lastRun: ReportLastRun | null;
  /** Snapshots held for the host, and the sum of their bytesStored (what its backups added to the repository). */
  snapshots: number;
  bytesStoredTotal: number;
}

export interface FleetTotals {
  hosts: number;
  /** Hosts with a snapshot within their objective. */
  protected: number;
  /** Hosts without one (hosts = protected + breaching). */
  breaching: number;
  /** Hosts that have no snapshot at all (a subset of breaching). */
  neverBackedUp: number;
  /** Hosts whose latest backup run failed or was canceled. */
  lastRunFailed: number;
  snapshots: number;
  /** Size of the newest snapshot of every host, summed: the data the fleet can restore today. */
  bytesProtected: number;
  /** Sum of bytesStored over every snapshot: what the fleet's backups wrote to the repository. */
  bytesStored: number;
  /** Bytes sent by each host's last successful run, summed. */
  lastRunsBytesSent: number;
}

export interface FleetReport {
  generatedAt: string;
  /** The default objective (BERTH_RPO_HOURS). */
  rpoHours: number;
  totals: FleetTotals;
  /** Sorted by host name. */
  hosts: FleetHostReport[];
}

/** One backup run of a host, as its history shows it. */
export interface HostHistoryEntry {
  runId: string;
  status: RunStatus;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  durationMs: number | null;
  attempts: number;
  files: number;
  bytes: number;
  bytesSent: number;
  bytesStored: number;
  fileErrors: number;
  snapshotId: string | null;
}

export interface HostHistoryResponse {
  hostId: string;
  hostName: string;
  /** Newest first, at most `limit` (default 50, at most 500). */
  runs: HostHistoryEntry[];
}
