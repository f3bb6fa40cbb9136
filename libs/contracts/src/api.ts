/**
 * HTTP API types shared by the controller (which builds them through its mappers) and the CLI and agent
 * (which consume them). Timestamps are ISO-8601 strings; byte counts are numbers (safe up to 8 PiB).
 */
import { type EffectiveHostSettings, type ScheduleResponse } from './schedule-api';

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

/** Runs an operator may retry (POST /runs/:id/retry): they ended without publishing anything. */
export const RETRYABLE_RUN_STATUSES: readonly RunStatus[] = [RunStatus.Failed, RunStatus.Canceled];

/** How one attempt of a run ended. */
export const RunAttemptOutcome = {
  Succeeded: 'succeeded',
  Partial: 'partial',
  /** The agent reported the failure (endReason is its error), or BullMQ failed the job. */
  Failed: 'failed',
  /** No report from the agent (killed, or lost its connection): a later attempt started, or the controller noticed. */
  Abandoned: 'abandoned',
  /** The agent stopped at an operator's request (endReason says who asked). */
  Canceled: 'canceled',
} as const;
export type RunAttemptOutcome = (typeof RunAttemptOutcome)[keyof typeof RunAttemptOutcome];

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
  /** Required unless the host joins a group (then empty or absent means the group's paths). */
  paths?: string[];
  excludes?: string[];
  /** Group name to join. */
  group?: string;
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
  /** Name of the host's group, if any. */
  group: string | null;
  /** The host itself is paused (its group may be too: see effective.paused). */
  paused: boolean;
  /** The host's own schedule (the group's may apply: see effective). */
  schedule: ScheduleResponse | null;
  effective: EffectiveHostSettings;
}

export interface CreateHostResponse {
  host: HostResponse;
  /** One-time secret the agent exchanges for its own credential (POST /agent/v1/enroll). Shown once. */
  enrollmentSecret: string;
}

/** An agent credential of a host, without its secret (only its hash is stored). */
export interface AgentCredentialResponse {
  id: string;
  hostId: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export interface RevokeCredentialsResponse {
  /** Credentials this call revoked (already revoked ones are not counted again). */
  revoked: AgentCredentialResponse[];
  /** Runs of the host that were running and ended failed ("agent credential revoked"). */
  failedRuns: string[];
}

/** A new one-time enrollment secret for an existing host (re-enrollment). Shown once. */
export interface EnrollmentSecretResponse {
  hostId: string;
  hostName: string;
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
  /** When an operator asked to cancel the run (POST /runs/:id/cancel); null when nobody did. */
  cancelRequestedAt: string | null;
  snapshotId: string | null;
  /** Restore runs only. */
  restore: { snapshotId: string; targetDir: string; subPath: string | null } | null;
  fileErrors: FileErrorResponse[];
  /** Every attempt of the run, oldest first (`attempts` is their count). */
  attemptHistory: RunAttemptResponse[];
}

/**
 * The steps of one attempt, in order: `prepare` (start report, path checks), `connect` (to the receiver),
 * `admission` (hello until the receiver admits the session: time spent waiting for a slot), `transfer` (walk,
 * send, commit, publish); a restore has `restore` (read and write the snapshot) instead of `transfer`.
 */
export const RUN_PHASES = ['prepare', 'connect', 'admission', 'transfer', 'restore'] as const;
export type RunPhaseName = (typeof RUN_PHASES)[number];

export interface RunPhase {
  name: RunPhaseName;
  startedAt: string;
  endedAt: string;
}

export interface RunAttemptResponse {
  /** 1 for the first attempt. */
  number: number;
  startedAt: string;
  endedAt: string | null;
  /** Null while the attempt is still running. */
  outcome: RunAttemptOutcome | null;
  /** Why it ended: the agent's error, or why it counts as abandoned; null for a success. */
  endReason: string | null;
  /** The run's checkpoint when the attempt started (the last directory already durable); null for a fresh start. */
  resumedFrom: string | null;
  /** Bytes sent to the receiver during this attempt. */
  bytesSent: number;
  /** Bytes sent again for work an earlier attempt had sent but not committed; null when the agent could not tell. */
  bytesResent: number | null;
  /** As the agent measured them; empty for an attempt the agent never reported the end of. */
  phases: RunPhase[];
}

export interface FileErrorResponse {
  path: string;
  message: string;
}

/** GET /runs/:id/file-errors: every file error the run kept, in the order reported, a page at a time. */
export interface FileErrorPage {
  errors: (FileErrorResponse & { id: string; at: string })[];
  /** Pass as `?after=` for the next page; null on the last page. */
  nextAfter: string | null;
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
