/**
 * The job catalog: one BullMQ queue per host, two job names, one payload union; and the controller's webhook
 * delivery queue. Job data never holds secrets: credentials travel only between agent, controller and receiver,
 * webhook secrets stay in PostgreSQL.
 */

/** Redis key prefix of every Berth queue (BullMQ's `prefix` option). */
export const QUEUE_PREFIX = 'berth';

/** Name of the BullMQ queue an agent consumes: one per host, so an agent sees only its own jobs. */
export function hostQueueName(hostId: string): string {
  return `host.${hostId}`;
}

export const JobName = {
  Backup: 'backup',
  Restore: 'restore',
} as const;
export type JobName = (typeof JobName)[keyof typeof JobName];

export interface BackupJobData {
  readonly kind: typeof JobName.Backup;
  readonly runId: string;
  readonly hostId: string;
  /** Absolute paths on the client, as configured on the host. */
  readonly paths: readonly string[];
  /** Exclude globs (see README: a pattern without "/" matches a name anywhere; a leading "/" anchors it). */
  readonly excludes: readonly string[];
}

export interface RestoreJobData {
  readonly kind: typeof JobName.Restore;
  readonly runId: string;
  /** Host that performs the restore (the agent taking this job). */
  readonly hostId: string;
  readonly snapshotId: string;
  /** Absolute directory on the restoring host that receives the files. */
  readonly targetDir: string;
  /** Absolute path inside the snapshot to restore, or null for the whole snapshot. */
  readonly subPath: string | null;
}

export type JobData = BackupJobData | RestoreJobData;

/** Job options that every run job gets; set in one place (the controller's queue repository). */
export const RUN_JOB_DEFAULTS = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 5_000 },
  removeOnComplete: { age: 7 * 24 * 3600, count: 1000 },
  removeOnFail: { age: 30 * 24 * 3600, count: 1000 },
} as const;

/**
 * How agents' workers hold their jobs. A worker renews its job's lock every half lockDuration; a worker on the
 * queue checks every stalledInterval for active jobs whose lock expired (their agent died) and puts them back to
 * waiting, failing them past maxStalledCount stalls. A killed agent's job is thus noticed within about
 * lockDuration + 2 x stalledInterval (a minute) once a worker runs on that queue again; the controller's
 * reconciler notices the expired lock itself (see apps/controller README, "Reconciler").
 */
export const RUN_WORKER_DEFAULTS = {
  lockDurationMs: 30_000,
  stalledIntervalMs: 15_000,
  maxStalledCount: 1,
} as const;

/**
 * The controller's webhook delivery queue, one per deployment (replicas share the database, so its name tells
 * deployments apart when they share a Redis). A job carries only the delivery id: the URL, the secret and the
 * body are read from PostgreSQL when it runs.
 */
export function webhookQueueName(deployment: string): string {
  return `webhooks.${deployment}`;
}

export const WEBHOOK_JOB_NAME = 'deliver';

export interface WebhookDeliveryJobData {
  readonly deliveryId: string;
}

/**
 * The Redis client name (CLIENT SETNAME) of a controller's connections: `berth:controller:<hostname>:<pid>`, plus
 * `:<role>` for a connection with a role of its own (the schedule worker's). `CLIENT LIST` then tells which
 * connections a controller holds, and tools can check that their number does not grow with the fleet.
 * BullMQ names a worker's blocking connection `bull:<queue>:w:<worker name>`: the worker name is such a name too.
 */
export function controllerRedisClientName(hostname: string, pid: number, role?: string): string {
  return `berth:controller:${hostname}:${pid}${role === undefined ? '' : `:${role}`}`;
}
