/**
 * Agent-facing and receiver-facing endpoints of the controller. Agents authenticate with
 * `Authorization: Bearer <agent credential>`; the receiver with `Authorization: Bearer <receiver token>`.
 */
import { type RunCounters, type RunKind, type RunPhase, type RunStatus, type SnapshotStats, type FileErrorResponse } from './api';

export const AGENT_API = {
  enroll: '/agent/v1/enroll',
  config: '/agent/v1/config',
  runStart: (runId: string) => `/agent/v1/runs/${runId}/start`,
  runProgress: (runId: string) => `/agent/v1/runs/${runId}/progress`,
  runFinish: (runId: string) => `/agent/v1/runs/${runId}/finish`,
} as const;

export const RECEIVER_API = {
  verifySession: '/internal/v1/sessions/verify',
} as const;

export interface EnrollRequest {
  enrollmentSecret: string;
}
export interface EnrollResponse {
  hostId: string;
  hostName: string;
  /** Long-lived agent credential; the controller keeps only its hash. */
  credential: string;
}

export interface AgentConfigResponse {
  hostId: string;
  hostName: string;
  queueName: string;
  queuePrefix: string;
  redisUrl: string;
  receiver: { host: string; port: number; tls: boolean; caPem: string | null; serverName: string | null };
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
  status: Extract<RunStatus, 'succeeded' | 'partial' | 'failed'>;
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
  hostId: string;
  hostName: string;
  runId: string;
  kind: RunKind;
  attempt: number;
  /** Restore runs: the snapshot the agent may read, and the host that owns it. */
  restore: { snapshotId: string; sourceHostId: string; subPath: string | null } | null;
}
