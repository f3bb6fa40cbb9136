import { Injectable } from '@nestjs/common';
import { RETRYABLE_RUN_STATUSES, type RunCounters } from '@berth/contracts';
import { type FileError, Prisma, type PrismaClient, type Run, type RunAttempt, type RunStatus } from '../generated/prisma/client';
import { DatabaseRepository } from './database.repository';
import { ABANDONED_BY_NEXT_START, type AttemptClose, closeOpenAttempt } from './run-attempts';

const RUN_INCLUDE = {
  host: { select: { name: true } },
  snapshot: { select: { id: true } },
  attemptHistory: { orderBy: { number: 'asc' } },
} as const satisfies Prisma.RunInclude;

/** A run with what its API representation needs: the host's name, the snapshot it produced, its attempts. */
export type RunRecord = Prisma.RunGetPayload<{ include: typeof RUN_INCLUDE }>;

/**
 * What the agent API checks of a run before acting on it (whose it is, whether it has ended, whether an operator
 * asked to cancel it): one statement, where a RunRecord takes four.
 */
export type RunState = Pick<Run, 'id' | 'hostId' | 'kind' | 'status' | 'attempts' | 'error' | 'finishedAt' | 'cancelRequestedAt'>;

export type RunSessionState = RunState & Pick<Run, 'restoreSnapshotId' | 'restoreSubPath'>;

/** An attempt just started: what the agent is told. */
export interface StartedAttempt {
  id: string;
  kind: Run['kind'];
  attempts: number;
}

const ACTIVE_STATUSES: RunStatus[] = ['queued', 'running'];

export interface RunFilter {
  hostId?: string;
  status?: RunStatus;
  limit: number;
}

export interface NewRestoreRun {
  hostId: string;
  snapshotId: string;
  targetDir: string;
  subPath: string | null;
}

/** Column values for counters; only the counters the agent reported are present. */
export type CounterColumns = Partial<Record<'filesTotal' | 'filesDone' | 'bytesTotal' | 'bytesDone' | 'bytesSent' | 'bytesStored' | 'filesSkipped' | 'fileErrorCount', bigint>>;

export interface RunEnd {
  status: RunStatus;
  finishedAt: Date | null;
  error: string | null;
  counters: CounterColumns;
  /** The run's new checkpoint, when the end sets one. */
  checkpoint?: string;
  /** How the agent's current attempt ended. */
  attempt: AttemptClose;
  snapshot?: { id: string; rootTree: string; files: bigint; dirs: bigint; bytes: bigint; bytesSent: bigint; bytesStored: bigint; publishedAt: Date };
  fileErrors: { path: string; message: string }[];
  /** Keep at most this many file error rows per run; the count column still counts them all. */
  fileErrorCap: number;
}

/** What a run was before a retry re-queued it, to put it back when the job cannot be queued. */
export interface RetriedFrom {
  status: RunStatus;
  error: string | null;
  finishedAt: Date | null;
  attempts: number;
  cancelRequestedAt: Date | null;
}

/** What a cancel request found: an active run (now marked), or one that had already ended. */
export type CancelRequest = { active: RunRecord } | { ended: RunRecord };

export type RetryRequeue = { requeued: RunRecord; previous: RetriedFrom } | { refused: RunRecord } | { active: Run };

/** A reconciler decision, applied only if the run is still as the reconciler saw it. */
export interface RunSettlement {
  expected: { status: RunStatus; attempts: number; updatedAt?: Date };
  status: 'queued' | 'failed' | 'canceled';
  error: string;
  /** Closes the open attempt, if there is one. */
  attempt: AttemptClose;
  at: Date;
}

/** The fields the reconciler needs of an active run. */
export interface ActiveRunRef {
  id: string;
  hostId: string;
  status: RunStatus;
  attempts: number;
  updatedAt: Date;
  /** Set when an operator asked to cancel the run; error then says who. */
  cancelRequestedAt: Date | null;
  error: string | null;
  /** The last time the host's agent was heard of (heartbeat or any agent call). */
  hostLastSeenAt: Date | null;
}

export const COUNTER_COLUMNS: Record<keyof RunCounters, keyof CounterColumns> = {
  filesTotal: 'filesTotal',
  filesDone: 'filesDone',
  bytesTotal: 'bytesTotal',
  bytesDone: 'bytesDone',
  bytesSent: 'bytesSent',
  bytesStored: 'bytesStored',
  filesSkipped: 'filesSkipped',
  fileErrors: 'fileErrorCount',
};

/** A host's backup run that is queued or running. */
export interface ActiveBackup {
  readonly id: string;
  readonly hostId: string;
  readonly status: RunStatus;
}

@Injectable()
export class RunRepository {
  constructor(private readonly database: DatabaseRepository) {}

  /**
   * Creates a queued backup run unless the host has one queued or running (then that one is `active`), or null when
   * the host no longer exists. The answer is the run as the insert returned it, as GET /runs/:id shows it (queued,
   * whatever an agent does once the job is added): nothing is read back, in the transaction or after it, and the job
   * can be added at once. A trigger costs the host's lock and the insert, sent as one batch, and the commit.
   */
  async createBackupRunUnlessActive(hostId: string): Promise<{ created: RunRecord } | { active: ActiveBackup } | null> {
    const [, rows] = await this.database.client.$transaction(backupRunBatch(this.database.client, hostId));
    const row = rows[0];
    if (row === undefined) return null;
    if (row.active_id !== null && row.active_status !== null) return { active: { id: row.active_id, hostId, status: row.active_status } };
    if (row.id === null) return null;
    // A row with an id has every run column: the insert returned them (RETURNING *), and the host's name with them.
    return { created: runDetailFromRow({ ...(row as RunColumnsRow), snapshot_id: null, attempt_history: [], file_errors: [] }).run };
  }

  /** createBackupRunUnlessActive for many hosts at once (a schedule tick), in one transaction of two statements. */
  async createBackupRunsUnlessActive(hostIds: readonly string[]): Promise<{ created: { id: string; hostId: string }[]; active: ActiveBackup[] }> {
    if (hostIds.length === 0) return { created: [], active: [] };
    const [, rows] = await this.database.client.$transaction(backupRunsBatch(this.database.client, hostIds));
    return {
      created: rows.flatMap((row) => (row.active_status === null ? [{ id: row.run_id, hostId: row.host_id }] : [])),
      active: rows.flatMap((row) => (row.active_status === null ? [] : [{ id: row.run_id, hostId: row.host_id, status: row.active_status }])),
    };
  }

  async createRestoreRun(run: NewRestoreRun): Promise<RunRecord> {
    const { id } = await this.database.client.run.create({
      data: { hostId: run.hostId, kind: 'restore', restoreSnapshotId: run.snapshotId, restoreTargetDir: run.targetDir, restoreSubPath: run.subPath },
      select: { id: true },
    });
    return this.record(id);
  }

  findById(id: string): Promise<RunRecord | null> {
    return this.database.client.run.findUnique({ where: { id }, include: RUN_INCLUDE });
  }

  /** The run as GET /runs/:id shows it, with its first `fileErrorLimit` file errors (readRunDetail). */
  findWithFileErrors(id: string, fileErrorLimit: number): Promise<{ run: RunRecord; fileErrors: FileError[] } | null> {
    return readRunDetail(this.database.client, id, fileErrorLimit);
  }

  findState(id: string): Promise<RunState | null> {
    return this.findSessionState(id);
  }

  /**
   * What a receiver session check needs of a run: its state and, for a restore, what it reads. Both this and
   * findState are on the way to a backup's first byte and to its end: one plain statement, so that Prisma has no
   * query to plan (on a controller's first session that planning took about 5 ms of the receiver's wait).
   */
  async findSessionState(id: string): Promise<RunSessionState | null> {
    const [row] = await this.database.client.$queryRaw<RunSessionState[]>`
      SELECT id::text AS id, host_id::text AS "hostId", kind::text AS kind, status::text AS status, attempts, error,
             finished_at AS "finishedAt", cancel_requested_at AS "cancelRequestedAt",
             restore_snapshot_id::text AS "restoreSnapshotId", restore_sub_path AS "restoreSubPath"
      FROM runs WHERE id = ${id}::uuid`;
    return row ?? null;
  }

  /**
   * A run as the API shows it, read after a transaction has committed: Prisma loads the relations of an include
   * with parallel queries, which one transaction's connection can only run one after the other.
   */
  private record(id: string): Promise<RunRecord> {
    return this.database.client.run.findUniqueOrThrow({ where: { id }, include: RUN_INCLUDE });
  }

  /** A run's file errors in the order they were reported, from after the error `after` (default: the first). */
  listFileErrors(runId: string, limit: number, after?: bigint): Promise<FileError[]> {
    return this.database.client.fileError.findMany({ where: { runId, ...(after === undefined ? {} : { id: { gt: after } }) }, orderBy: { id: 'asc' }, take: limit });
  }

  list(filter: RunFilter): Promise<RunRecord[]> {
    return this.database.client.run.findMany({
      where: { ...(filter.hostId === undefined ? {} : { hostId: filter.hostId }), ...(filter.status === undefined ? {} : { status: filter.status }) },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: filter.limit,
      include: RUN_INCLUDE,
    });
  }

  /** Ends a run whose job could not be queued (Redis unreachable), so it does not block the next trigger. */
  async failUnqueued(id: string, error: string, at: Date): Promise<void> {
    await this.failAllUnqueued([id], error, at);
  }

  /** failUnqueued for many runs at once (a schedule tick's), in one statement. */
  async failAllUnqueued(ids: readonly string[], error: string, at: Date): Promise<void> {
    if (ids.length === 0) return;
    await this.database.client.run.updateMany({ where: { id: { in: [...ids] }, status: 'queued', attempts: 0 }, data: { status: 'failed', error, finishedAt: at } });
  }

  /**
   * Starts an attempt of a queued or running run: a new attempt row resuming from the run's checkpoint. An attempt
   * still open (its agent died without a word) is closed as abandoned first. Returns null when the run has ended.
   * The answer comes from the transaction itself: the agent waits for it before sending Finish, so no further read
   * of the run delays it.
   *
   * Two statements: the run's row is locked first, then one statement updates the run, closes the open attempt and
   * opens the next (a canceled run is ended instead). The lock comes first so that the second statement, whose
   * snapshot is taken after it is granted, sees an attempt opened by a concurrent start of the same run and closes
   * it. The ORM's read, updates and insert took seven round trips and most of the controller's CPU of a start.
   */
  startAttempt(id: string, at: Date): Promise<StartedAttempt | null> {
    return this.database.client.$transaction(async (tx): Promise<StartedAttempt | null> => {
      await lockRunRow(tx, id);
      const [row] = await tx.$queryRaw<{ id: string; kind: Run['kind']; attempts: number; canceled: boolean }[]>`
        WITH run AS (
          UPDATE runs
          SET status = (CASE WHEN cancel_requested_at IS NULL THEN 'running' ELSE 'canceled' END)::"RunStatus",
              attempts = CASE WHEN cancel_requested_at IS NULL THEN attempts + 1 ELSE attempts END,
              started_at = CASE WHEN cancel_requested_at IS NULL THEN COALESCE(started_at, ${at}::timestamp(3)) ELSE started_at END,
              finished_at = CASE WHEN cancel_requested_at IS NULL THEN finished_at ELSE ${at}::timestamp(3) END,
              updated_at = GREATEST(updated_at, ${at}::timestamp(3))
          WHERE id = ${id}::uuid AND status = ANY(${ACTIVE_STATUSES}::"RunStatus"[])
          RETURNING id, kind, attempts, checkpoint, error, cancel_requested_at IS NOT NULL AS canceled
        ), closed AS (
          -- Canceled while its job was on its way to the agent: the run ends here, and so does any attempt still open.
          UPDATE run_attempts AS a
          SET outcome = 'abandoned'::"RunAttemptOutcome",
              end_reason = CASE WHEN run.canceled THEN run.error ELSE ${ABANDONED_BY_NEXT_START} END,
              ended_at = CASE WHEN run.canceled THEN ${at}::timestamp(3) ELSE a.last_report_at END
          FROM run
          WHERE a.run_id = run.id AND a.ended_at IS NULL
          RETURNING 1
        ), opened AS (
          INSERT INTO run_attempts (run_id, number, started_at, last_report_at, resumed_from)
          SELECT id, attempts, ${at}::timestamp(3), ${at}::timestamp(3), checkpoint FROM run WHERE NOT canceled
          RETURNING 1
        )
        SELECT id::text AS id, kind, attempts, canceled FROM run`;
      return row === undefined || row.canceled ? null : { id: row.id, kind: row.kind, attempts: row.attempts };
    });
  }

  /**
   * Stores reported progress of a running run, and the attempt's bytes; false when the run is not running (any
   * more). A run has an open attempt exactly while it is running, so the attempt update needs no further check.
   * One statement (both updates in one CTE, atomic as a statement is) rather than a transaction of two: an agent
   * reports every second or so during a backup, and BEGIN, two updates and COMMIT were a large share of the
   * controller's CPU then. Counters the agent did not report keep their value (COALESCE with null).
   */
  async recordProgress(id: string, progress: { counters: CounterColumns; checkpoint?: string; bytesResent?: bigint }, at: Date): Promise<boolean> {
    const c = progress.counters;
    const [row] = await this.database.client.$queryRaw<{ runs: number }[]>`
      WITH run AS (
        UPDATE runs
        SET files_total = COALESCE(${c.filesTotal ?? null}::bigint, files_total),
            files_done = COALESCE(${c.filesDone ?? null}::bigint, files_done),
            bytes_total = COALESCE(${c.bytesTotal ?? null}::bigint, bytes_total),
            bytes_done = COALESCE(${c.bytesDone ?? null}::bigint, bytes_done),
            bytes_sent = COALESCE(${c.bytesSent ?? null}::bigint, bytes_sent),
            bytes_stored = COALESCE(${c.bytesStored ?? null}::bigint, bytes_stored),
            files_skipped = COALESCE(${c.filesSkipped ?? null}::bigint, files_skipped),
            file_error_count = COALESCE(${c.fileErrorCount ?? null}::bigint, file_error_count),
            checkpoint = COALESCE(${progress.checkpoint ?? null}::text, checkpoint),
            updated_at = ${at}::timestamp(3)
        WHERE id = ${id}::uuid AND status = 'running'
        RETURNING id
      ), attempt AS (
        UPDATE run_attempts
        SET last_report_at = ${at}::timestamp(3),
            bytes_sent = COALESCE(${c.bytesSent ?? null}::bigint, bytes_sent),
            bytes_resent = COALESCE(${progress.bytesResent ?? null}::bigint, bytes_resent)
        WHERE run_id IN (SELECT id FROM run) AND ended_at IS NULL
        RETURNING 1
      )
      SELECT (SELECT count(*) FROM run)::int AS runs`;
    return (row?.runs ?? 0) > 0;
  }

  /**
   * Ends an attempt of a running run: new status and counters, the snapshot row of a published backup, and the
   * reported file errors (up to the cap), all in one transaction. Returns null when the run is not running.
   */
  async end(id: string, end: RunEnd, hostId?: string): Promise<RunRecord | null> {
    const ended = await this.database.client.$transaction(async (tx) => {
      const { count } = await tx.run.updateMany({
        where: { id, status: 'running' },
        data: {
          status: end.status,
          finishedAt: end.finishedAt,
          error: end.error,
          ...end.counters,
          ...(end.checkpoint === undefined ? {} : { checkpoint: end.checkpoint }),
        },
      });
      if (count === 0) return false;
      await closeOpenAttempt(tx, id, end.attempt);
      if (end.snapshot !== undefined) {
        // A run's host never changes: a caller that has read it already spares this statement.
        const snapshotHostId = hostId ?? (await tx.run.findUniqueOrThrow({ where: { id }, select: { hostId: true } })).hostId;
        await tx.snapshot.create({ data: { ...end.snapshot, hostId: snapshotHostId, runId: id } });
      }
      if (end.fileErrors.length > 0) {
        const stored = await tx.fileError.count({ where: { runId: id } });
        const room = Math.max(0, end.fileErrorCap - stored);
        const kept = end.fileErrors.slice(0, room);
        if (kept.length > 0) {
          // One INSERT from two arrays: createMany of 10,000 rows took about 3 s here, this about 0.2 s.
          const paths = kept.map((fileError) => fileError.path);
          const messages = kept.map((fileError) => fileError.message);
          await tx.$executeRaw`
            INSERT INTO file_errors (run_id, path, message)
            SELECT ${id}::uuid, reported.path, reported.message
            FROM unnest(${paths}::text[], ${messages}::text[]) WITH ORDINALITY AS reported(path, message, position)
            ORDER BY reported.position`;
        }
        if (end.counters.fileErrorCount === undefined) {
          await tx.run.update({ where: { id }, data: { fileErrorCount: { increment: end.fileErrors.length } } });
        }
      }
      return true;
    });
    return ended ? this.record(id) : null;
  }

  /**
   * Puts a failed or canceled run back to queued for an operator's retry (error and end time cleared, checkpoint
   * kept so the next attempt shows where it resumes). A backup is refused while another backup of the host is
   * queued or running, as for a new backup: the host row is locked for the check.
   */
  async requeueForRetry(id: string): Promise<RetryRequeue | null> {
    const result = await this.database.client.$transaction(async (tx): Promise<{ refused: true } | { active: Run } | { previous: RetriedFrom } | null> => {
      const current = await tx.run.findUnique({ where: { id }, select: { hostId: true } });
      if (current === null) return null;
      await tx.$queryRaw`SELECT id FROM hosts WHERE id = ${current.hostId}::uuid FOR UPDATE`;
      const run = await lockRun(tx, id);
      if (run === null) return null;
      if (!RETRYABLE_RUN_STATUSES.includes(run.status)) return { refused: true };
      if (run.kind === 'backup') {
        const active = await tx.run.findFirst({ where: { hostId: run.hostId, kind: 'backup', status: { in: ACTIVE_STATUSES } }, orderBy: { createdAt: 'asc' } });
        if (active !== null) return { active };
      }
      const previous: RetriedFrom = { status: run.status, error: run.error, finishedAt: run.finishedAt, attempts: run.attempts, cancelRequestedAt: run.cancelRequestedAt };
      await tx.run.update({ where: { id }, data: { status: 'queued', error: null, finishedAt: null, cancelRequestedAt: null } });
      return { previous };
    });
    if (result === null || 'active' in result) return result;
    if ('refused' in result) return { refused: await this.record(id) };
    return { requeued: await this.record(id), previous: result.previous };
  }

  /** Undoes requeueForRetry when the job could not be queued, unless an attempt has started meanwhile. */
  async revertRetry(id: string, previous: RetriedFrom): Promise<void> {
    await this.database.client.run.updateMany({
      where: { id, status: 'queued', attempts: previous.attempts },
      data: { status: previous.status, error: previous.error, finishedAt: previous.finishedAt, cancelRequestedAt: previous.cancelRequestedAt },
    });
  }

  /**
   * Marks an active run as to be canceled: the first request's time and requester (`note`, kept in error) stay.
   * Null when the run does not exist.
   */
  async requestCancel(id: string, note: string, at: Date): Promise<CancelRequest | null> {
    const outcome = await this.database.client.$transaction(async (tx): Promise<'active' | 'ended' | null> => {
      const run = await lockRun(tx, id);
      if (run === null) return null;
      if (!ACTIVE_STATUSES.includes(run.status)) return 'ended';
      if (run.cancelRequestedAt === null) await tx.run.update({ where: { id }, data: { cancelRequestedAt: at, error: note } });
      return 'active';
    });
    if (outcome === null) return null;
    const run = await this.record(id);
    return outcome === 'active' ? { active: run } : { ended: run };
  }

  /**
   * Ends a run canceled whose job no agent holds (removed from the queue, or gone): the open attempt, if any, is
   * closed as abandoned with the cancel's note. Null when the run was no longer active.
   */
  async endCanceled(id: string, at: Date): Promise<RunRecord | null> {
    const ended = await this.database.client.$transaction(async (tx) => {
      const run = await lockRun(tx, id);
      if (run === null || !ACTIVE_STATUSES.includes(run.status) || run.cancelRequestedAt === null) return false;
      await closeOpenAttempt(tx, id, { outcome: 'abandoned', endReason: run.error, endedAt: null });
      await tx.run.update({ where: { id }, data: { status: 'canceled', finishedAt: at } });
      return true;
    });
    return ended ? this.record(id) : null;
  }

  /** Runs of a host an operator asked to cancel and that have not ended yet (what its agent must stop). */
  async listCancelRequested(hostId: string): Promise<string[]> {
    const runs = await this.database.client.run.findMany({
      where: { hostId, status: { in: ACTIVE_STATUSES }, cancelRequestedAt: { not: null } },
      select: { id: true },
      orderBy: { cancelRequestedAt: 'asc' },
    });
    return runs.map((run) => run.id);
  }

  /**
   * Runs the reconciler looks at: every running run, and queued runs unchanged since `queuedBefore` (a run queued
   * just now may not have its job yet, and a retry re-queues its job right after the run), oldest change first.
   */
  async listActiveForReconcile(queuedBefore: Date, limit: number): Promise<ActiveRunRef[]> {
    const runs = await this.database.client.run.findMany({
      where: { OR: [{ status: 'running' }, { status: 'queued', updatedAt: { lt: queuedBefore } }] },
      select: { id: true, hostId: true, status: true, attempts: true, updatedAt: true, cancelRequestedAt: true, error: true, host: { select: { lastSeenAt: true } } },
      orderBy: { updatedAt: 'asc' },
      take: limit,
    });
    return runs.map(({ host, ...run }) => ({ ...run, hostLastSeenAt: host.lastSeenAt }));
  }

  /**
   * Applies a reconciler decision if the run is still in the state it was seen in (same status and attempt, and
   * for queued runs the same updatedAt): an agent report or a new attempt in between wins. True when applied.
   */
  settle(id: string, settlement: RunSettlement): Promise<boolean> {
    return this.database.client.$transaction(async (tx) => {
      const run = await lockRun(tx, id);
      const { expected } = settlement;
      if (run === null || run.status !== expected.status || run.attempts !== expected.attempts) return false;
      if (expected.updatedAt !== undefined && run.updatedAt.getTime() !== expected.updatedAt.getTime()) return false;
      await closeOpenAttempt(tx, id, settlement.attempt);
      const ends = settlement.status !== 'queued';
      await tx.run.update({ where: { id }, data: { status: settlement.status, error: settlement.error, finishedAt: ends ? settlement.at : null } });
      return true;
    });
  }
}

/** Locks the run's row until the transaction ends (nothing when there is no such run). */
async function lockRunRow(tx: Prisma.TransactionClient, id: string): Promise<void> {
  await tx.$executeRaw`SELECT id FROM runs WHERE id = ${id}::uuid FOR UPDATE`;
}

/** Reads a run with its row locked until the transaction ends (serializes attempts, reports and decisions). */
async function lockRun(tx: Prisma.TransactionClient, id: string): Promise<Run | null> {
  await lockRunRow(tx, id);
  return tx.run.findUnique({ where: { id } });
}

/**
 * The two statements that create backup runs, to be sent as one batch transaction. The hosts' rows are locked first,
 * in id order (so concurrent ticks and triggers cannot deadlock). The insert is a statement of its own: its snapshot is
 * taken once the locks are held, so it sees the run of any trigger that held them before (in the same statement it
 * would not, and both would insert). It inserts a queued backup run for each host that has none queued or running and
 * names, for each that has one, its oldest backup queued or running; hosts that no longer exist get neither.
 */
function backupRunsBatch(db: PrismaClient, hostIds: readonly string[]): [Prisma.PrismaPromise<number>, Prisma.PrismaPromise<InsertedRunRow[]>] {
  return [lockHosts(db, hostIds), insertBackupRuns(db, hostIds)];
}

/** backupRunsBatch for one host, whose insert answers with the new run's columns (insertBackupRunDetail). */
function backupRunBatch(db: PrismaClient, hostId: string): [Prisma.PrismaPromise<number>, Prisma.PrismaPromise<CreatedRunRow[]>] {
  return [lockHosts(db, [hostId]), insertBackupRunDetail(db, hostId)];
}

function lockHosts(db: PrismaClient, hostIds: readonly string[]): Prisma.PrismaPromise<number> {
  return db.$executeRaw`SELECT id FROM hosts WHERE id = ANY(${[...hostIds]}::uuid[]) ORDER BY id FOR UPDATE`;
}

/** The oldest queued or running backup of each host whose id `hostIds` (a query of one column) gives. */
function activeBackupsOf(hostIds: Prisma.Sql): Prisma.Sql {
  return Prisma.sql`
    SELECT DISTINCT ON (host_id) host_id, id, status FROM runs
    WHERE host_id IN (${hostIds}) AND kind = 'backup' AND status = ANY(${ACTIVE_STATUSES}::"RunStatus"[])
    ORDER BY host_id, created_at`;
}

/** A new run (active_status null) or a host's active backup. */
interface InsertedRunRow {
  run_id: string;
  host_id: string;
  active_status: RunStatus | null;
}

/** The insert of backupRunsBatch (only after its lock): the new runs and the active ones. */
function insertBackupRuns(db: PrismaClient, hostIds: readonly string[]): Prisma.PrismaPromise<InsertedRunRow[]> {
  return db.$queryRaw<InsertedRunRow[]>`
    WITH targets AS (SELECT id FROM hosts WHERE id = ANY(${[...hostIds]}::uuid[])),
    busy AS (${activeBackupsOf(Prisma.sql`SELECT id FROM targets`)}),
    created AS (
      INSERT INTO runs (id, host_id, kind)
      SELECT gen_random_uuid(), id, 'backup' FROM targets WHERE id NOT IN (SELECT host_id FROM busy)
      RETURNING id, host_id
    )
    SELECT id::text AS run_id, host_id::text, NULL::text AS active_status FROM created
    UNION ALL SELECT id::text, host_id::text, status::text FROM busy`;
}

/** The run columns readRunDetail reads (RUN_COLUMNS) and the host's name. */
type RunColumnsRow = Omit<RunDetailRow, 'snapshot_id' | 'attempt_history' | 'file_errors'>;

/**
 * A row of insertBackupRunDetail: the new run's columns, every one null when none was made, and the host's active
 * backup (null when there is none).
 */
type CreatedRunRow = { [K in keyof RunColumnsRow]: RunColumnsRow[K] | null } & {
  active_id: string | null;
  active_status: RunStatus | null;
};

/**
 * The insert of backupRunBatch (only after its lock): insertBackupRuns for one host, answering with the new run's
 * columns as readRunDetail reads them (a new run has no snapshot, attempts or file errors). Exactly one row: all null
 * when the host does not exist.
 */
function insertBackupRunDetail(db: PrismaClient, hostId: string): Prisma.PrismaPromise<CreatedRunRow[]> {
  return db.$queryRaw<CreatedRunRow[]>`
    WITH target AS (SELECT id, name FROM hosts WHERE id = ${hostId}::uuid),
    busy AS (${activeBackupsOf(Prisma.sql`SELECT id FROM target`)}),
    r AS (
      INSERT INTO runs (id, host_id, kind)
      SELECT gen_random_uuid(), id, 'backup' FROM target WHERE NOT EXISTS (SELECT 1 FROM busy)
      RETURNING *
    )
    SELECT ${RUN_COLUMNS}, target.name AS host_name, busy.id::text AS active_id, busy.status::text AS active_status
    FROM (SELECT 1) AS one LEFT JOIN r ON true LEFT JOIN target ON target.id = r.host_id LEFT JOIN busy ON true`;
}

/** The run columns of a RunDetailRow, of the runs aliased `r`. */
const RUN_COLUMNS = Prisma.sql`
  r.id::text AS id, r.host_id::text AS host_id, r.kind::text AS kind, r.status::text AS status, r.attempts,
  r.created_at, r.updated_at, r.started_at, r.finished_at,
  r.files_total, r.files_done, r.bytes_total, r.bytes_done, r.bytes_sent, r.bytes_stored, r.files_skipped, r.file_error_count,
  r.error, r.checkpoint, r.cancel_requested_at, r.restore_snapshot_id::text AS restore_snapshot_id, r.restore_target_dir, r.restore_sub_path`;

/**
 * GET /runs/:id in one statement: the run with its host's name, snapshot and attempts (what findById loads with
 * four) and its first `fileErrorLimit` file errors (a fifth). A client polling a run's progress several times a
 * second made these statements most of the controller's CPU during a backup.
 */
async function readRunDetail(db: PrismaClient, id: string, fileErrorLimit: number): Promise<{ run: RunRecord; fileErrors: FileError[] } | null> {
  const [row] = await db.$queryRaw<RunDetailRow[]>`
    SELECT ${RUN_COLUMNS}, h.name AS host_name, s.id::text AS snapshot_id,
           (SELECT COALESCE(json_agg(json_build_object(
              'id', a.id::text, 'number', a.number, 'startedAt', a.started_at, 'lastReportAt', a.last_report_at, 'endedAt', a.ended_at,
              'resumedFrom', a.resumed_from, 'bytesSent', a.bytes_sent::text, 'bytesResent', a.bytes_resent::text,
              'outcome', a.outcome::text, 'endReason', a.end_reason, 'phases', a.phases) ORDER BY a.number), '[]'::json)
            FROM run_attempts a WHERE a.run_id = r.id) AS attempt_history,
           (SELECT COALESCE(json_agg(json_build_object('id', f.id::text, 'path', f.path, 'message', f.message, 'createdAt', f.created_at) ORDER BY f.id), '[]'::json)
            FROM (SELECT id, path, message, created_at FROM file_errors WHERE run_id = r.id ORDER BY id LIMIT ${fileErrorLimit}) f) AS file_errors
    FROM runs r JOIN hosts h ON h.id = r.host_id LEFT JOIN snapshots s ON s.run_id = r.id
    WHERE r.id = ${id}::uuid`;
  return row === undefined ? null : runDetailFromRow(row);
}

/** A row of readRunDetail: the run's columns, and its attempts and file errors as JSON. */
interface RunDetailRow {
  id: string;
  host_id: string;
  kind: Run['kind'];
  status: RunStatus;
  attempts: number;
  created_at: Date;
  updated_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  files_total: bigint;
  files_done: bigint;
  bytes_total: bigint;
  bytes_done: bigint;
  bytes_sent: bigint;
  bytes_stored: bigint;
  files_skipped: bigint;
  file_error_count: bigint;
  error: string | null;
  checkpoint: string | null;
  cancel_requested_at: Date | null;
  restore_snapshot_id: string | null;
  restore_target_dir: string | null;
  restore_sub_path: string | null;
  host_name: string;
  snapshot_id: string | null;
  attempt_history: AttemptJson[];
  file_errors: FileErrorJson[];
}

/** Timestamps come as PostgreSQL writes a timestamp without time zone into JSON (UTC, as Prisma stores them). */
interface AttemptJson {
  id: string;
  number: number;
  startedAt: string;
  lastReportAt: string;
  endedAt: string | null;
  resumedFrom: string | null;
  bytesSent: string;
  bytesResent: string | null;
  outcome: RunAttempt['outcome'];
  endReason: string | null;
  phases: Prisma.JsonValue;
}

interface FileErrorJson {
  id: string;
  path: string;
  message: string;
  createdAt: string;
}

/** A timestamp(3) PostgreSQL put into JSON ("2026-11-26T05:00:37.52", no zone): Prisma stores UTC. */
function jsonTimestamp(value: string): Date {
  return new Date(/[Zz]|[+-]\d\d:?\d\d$/.test(value) ? value : `${value}Z`);
}

function runDetailFromRow(row: RunDetailRow): { run: RunRecord; fileErrors: FileError[] } {
  const run: RunRecord = {
    id: row.id,
    hostId: row.host_id,
    kind: row.kind,
    status: row.status,
    attempts: row.attempts,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    filesTotal: row.files_total,
    filesDone: row.files_done,
    bytesTotal: row.bytes_total,
    bytesDone: row.bytes_done,
    bytesSent: row.bytes_sent,
    bytesStored: row.bytes_stored,
    filesSkipped: row.files_skipped,
    fileErrorCount: row.file_error_count,
    error: row.error,
    checkpoint: row.checkpoint,
    cancelRequestedAt: row.cancel_requested_at,
    restoreSnapshotId: row.restore_snapshot_id,
    restoreTargetDir: row.restore_target_dir,
    restoreSubPath: row.restore_sub_path,
    host: { name: row.host_name },
    snapshot: row.snapshot_id === null ? null : { id: row.snapshot_id },
    attemptHistory: row.attempt_history.map((attempt) => ({
      id: BigInt(attempt.id),
      runId: row.id,
      number: attempt.number,
      startedAt: jsonTimestamp(attempt.startedAt),
      lastReportAt: jsonTimestamp(attempt.lastReportAt),
      endedAt: attempt.endedAt === null ? null : jsonTimestamp(attempt.endedAt),
      resumedFrom: attempt.resumedFrom,
      bytesSent: BigInt(attempt.bytesSent),
      bytesResent: attempt.bytesResent === null ? null : BigInt(attempt.bytesResent),
      outcome: attempt.outcome,
      endReason: attempt.endReason,
      phases: attempt.phases,
    })),
  };
  const fileErrors = row.file_errors.map((fileError) => ({
    id: BigInt(fileError.id),
    runId: row.id,
    path: fileError.path,
    message: fileError.message,
    createdAt: jsonTimestamp(fileError.createdAt),
  }));
  return { run, fileErrors };
}
