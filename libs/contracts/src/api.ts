/**
 * HTTP API types shared by the controller (which builds them through its mappers) and the CLI and agent
 * (which consume them). Timestamps are ISO-8601 strings; byte counts are numbers (safe up to 8 PiB).
 */

export const RunStatus = {
  Queued: 'queued',
  Running: 'running',
  Succeeded: 'succeeded',
  /** Finished and published, but some files could not be read (see fileErrors). */
  Partial: 'partial',
  Failed: 'failed',
  Canceled: 'canceled',
} as const;
export type RunStatus = (typeof RunStatus)[keyof typeof RunStatus];
export const TERMINAL_RUN_STATUSES: readonly RunStatus[] = [RunStatus.Succeeded, RunStatus.Partial, RunStatus.Failed, RunStatus.Canceled];

export const RunKind = { Backup: 'backup', Restore: 'restore' } as const;
export type RunKind = (typeof RunKind)[keyof typeof RunKind];

export const HostStatus = { Pending: 'pending', Online: 'online', Offline: 'offline' } as const;
export type HostStatus = (typeof HostStatus)[keyof typeof HostStatus];

export interface RunCounters {
  filesTotal: number;
  filesDone: number;
  bytesTotal: number;
  bytesDone: number;
  /** Bytes that crossed the wire to the receiver (after quick check, dedup and delta). */
  bytesSent: number;
  /** Bytes newly written to the repository (after dedup). */
  bytesStored: number;
  filesSkipped: number;
  fileErrors: number;
}

export interface CreateHostRequest {
  name: string;
  paths: string[];
  excludes?: string[];
}

export interface HostResponse {
  id: string;
  name: string;
  paths: string[];
  excludes: string[];
  status: HostStatus;
  enrolled: boolean;
  lastSeenAt: string | null;
  createdAt: string;
}

export interface CreateHostResponse {
  host: HostResponse;
  /** One-time secret the agent exchanges for its own credential (POST /agent/v1/enroll). Shown once. */
  enrollmentSecret: string;
}

export interface RunResponse {
  id: string;
  hostId: string;
  hostName: string;
  kind: RunKind;
  status: RunStatus;
  attempts: number;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  counters: RunCounters;
  error: string | null;
  /** Last directory the receiver acknowledged as durable (absolute path), for resume. */
  checkpoint: string | null;
  snapshotId: string | null;
  /** Restore runs only. */
  restore: { snapshotId: string; targetDir: string; subPath: string | null } | null;
  fileErrors: FileErrorResponse[];
}

export interface FileErrorResponse {
  path: string;
  message: string;
}

export interface SnapshotStats {
  files: number;
  dirs: number;
  bytes: number;
  bytesSent: number;
  bytesStored: number;
}

export interface SnapshotResponse {
  id: string;
  hostId: string;
  hostName: string;
  runId: string;
  rootTree: string;
  stats: SnapshotStats;
  publishedAt: string;
}

export interface RestoreRequest {
  /** Host (id or name) whose agent writes the files; defaults to the snapshot's own host. */
  targetHost?: string;
  targetDir: string;
  subPath?: string;
}

export interface HealthResponse {
  status: 'ok' | 'degraded';
  checks: { postgres: 'up' | 'down'; redis: 'up' | 'down' };
}

/** Every error body of the API. */
export interface ApiErrorBody {
  statusCode: number;
  code: string;
  message: string;
  /** Validation failures: one line per offending field, naming it. */
  details?: string[];
}
