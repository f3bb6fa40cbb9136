/**
 * Agent-facing and receiver-facing endpoints of the controller. Agents authenticate with
 * `Authorization: Bearer <agent credential>`; the receiver with `Authorization: Bearer <receiver token>`.
 */
import { type RunCounters, type RunKind, type RunPhase, type RunStatus, type SnapshotStats, type FileErrorResponse } from './api';

export const AGENT_API = {
  enroll: '/agent/v1/enroll',
  config: '/agent/v1/config',
  heartbeat: '/agent/v1/heartbeat',
  runStart: (runId: string) => `/agent/v1/runs/${runId}/start`,
  runProgress: (runId: string) => `/agent/v1/runs/${runId}/progress`,
  runFinish: (runId: string) => `/agent/v1/runs/${runId}/finish`,
} as const;

export const RECEIVER_API = {
  verifySession: '/internal/v1/sessions/verify',
  /** Which of the credentials behind the receiver's open sessions are no longer valid (revoked or gone). */
  checkCredentials: '/internal/v1/credentials/check',
} as const;

/**
 * Name of a host's Redis ACL user: the agent logs in with it and its credential as password, and may touch only
 * the keys of its own host queue (see the controller's AgentRedisAclRepository).
 */
export function agentRedisUsername(hostId: string): string {
  return `berth-agent-${hostId}`;
}

export interface EnrollRequest {
  enrollmentSecret: string;
}
export interface EnrollResponse {
  hostId: string;
  hostName: string;
  /** Long-lived agent credential; the controller keeps only its hash. */
  credential: string;
  /** Redis user to log in as, with the credential as password; null: use redisUrl as it is (no per-agent ACL). */
  redisUsername: string | null;
}

export interface AgentConfigResponse {
  hostId: string;
  hostName: string;
  queueName: string;
  queuePrefix: string;
  /** Without user and password when redisUsername is set. */
  redisUrl: string;
  /** As in EnrollResponse: log in as this user with the agent credential as password; null: redisUrl as it is. */
  redisUsername: string | null;
  receiver: { host: string; port: number; tls: boolean; caPem: string | null; serverName: string | null };
  /** How often the agent calls POST heartbeat; the host shows offline after a few missed ones. */
  heartbeatMs: number;
}

/** POST heartbeat: the agent is alive; it names the runs it is working on. */
export interface HeartbeatRequest {
  /** Run ids of the jobs this agent holds right now. */
  runIds: string[];
}
export interface HeartbeatResponse {
  /** Runs of this host an operator asked to cancel: the agent stops them and reports them canceled. */
  cancelRunIds: string[];
  /** When to send the next heartbeat. */
  heartbeatMs: number;
}

/** The answer to a progress report. */
export interface RunProgressResponse {
  /** An operator asked to cancel the run: the agent stops it and reports it canceled. */
  cancelRequested: boolean;
}

export interface RunStartResponse {
  runId: string;
  kind: RunKind;
  attempt: number;
}

export interface RunProgressRequest {
  counters: Partial<RunCounters>;
  checkpoint?: string;
  /** Bytes this attempt sent again for work an earlier attempt had sent but not committed, when the agent can tell. */
  bytesResent?: number;
}

export interface RunFinishRequest {
  /** canceled: the agent stopped the attempt because an operator asked to (see RunProgressResponse, HeartbeatResponse). */
  status: Extract<RunStatus, 'succeeded' | 'partial' | 'failed' | 'canceled'>;
  counters: Partial<RunCounters>;
  error?: string;
  /** Failed attempts only: true when BullMQ will retry the job (the run goes back to queued, not failed). */
  willRetry?: boolean;
  fileErrors?: FileErrorResponse[];
  snapshot?: { id: string; rootTree: string; stats: SnapshotStats; publishedAt: string };
  /** As in RunProgressRequest. */
  bytesResent?: number;
  /** Where the attempt spent its time, in order (see RUN_PHASES). */
  phases?: RunPhase[];
}

export interface VerifySessionRequest {
  hostId: string;
  runId: string;
  credential: string;
}
export interface VerifySessionResponse {
  /** The credential the agent presented: the receiver asks again about it while the session lasts. */
  credentialId: string;
  hostId: string;
  hostName: string;
  runId: string;
  kind: RunKind;
  attempt: number;
  /** Restore runs: the snapshot the agent may read, and the host that owns it. */
  restore: { snapshotId: string; sourceHostId: string; subPath: string | null } | null;
}

export interface CheckCredentialsRequest {
  credentialIds: string[];
}
export interface CheckCredentialsResponse {
  /** The ids asked about that are revoked or unknown: their sessions must end. */
  invalid: string[];
}
