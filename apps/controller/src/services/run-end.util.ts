import { type RunCounters, type RunFinishRequest, type RunKind } from '@berth/contracts';
import { DomainError } from '../errors/domain.error';
import { ErrorCode } from '../errors/error-code';
import { COUNTER_COLUMNS, type CounterColumns, type RunEnd } from '../repositories/run.repository';
import { toBigInt } from '../utils/bigint.util';

/** The checkpoint of a backup that published its snapshot: everything, up to the root, is committed. */
export const BACKUP_DONE_CHECKPOINT = '/';

/** A run keeps at most this many file error rows; counters.fileErrors still counts every one. */
export const RUN_FILE_ERRORS_KEPT = 10_000;

/** Counters as reported (numbers) to the columns that store them (BigInt); absent counters stay absent. */
export function counterColumns(counters: Partial<RunCounters>): CounterColumns {
  const columns: CounterColumns = {};
  for (const [name, column] of Object.entries(COUNTER_COLUMNS) as [keyof RunCounters, keyof CounterColumns][]) {
    const value = counters[name];
    if (value !== undefined) columns[column] = toBigInt(value);
  }
  return columns;
}

/**
 * What an agent's finish report does to its run:
 * - succeeded / partial: the run ends; a backup must name the snapshot the receiver published;
 * - canceled: the agent stopped at an operator's request (`cancelNote`, which says who); the run ends canceled;
 * - failed with willRetry: back to queued (BullMQ runs the job again), the error kept for display; but a run an
 *   operator asked to cancel ends canceled instead: its job must not run again;
 * - failed: the run ends failed.
 */
export function planRunEnd(kind: RunKind, report: RunFinishRequest, now: Date, cancelNote: string | null = null): RunEnd {
  if (report.status === 'canceled' && cancelNote === null) {
    throw new DomainError(ErrorCode.RunInProgress, 'Nobody asked to cancel this run; report it failed, succeeded or partial');
  }
  const publishes = report.status === 'succeeded' || report.status === 'partial';
  if (report.snapshot !== undefined && !(publishes && kind === 'backup')) {
    throw invalid('snapshot must be given only when a backup succeeds or ends partial');
  }
  if (publishes && kind === 'backup' && report.snapshot === undefined) {
    throw invalid(`snapshot is required when a backup ends ${report.status}`);
  }
  if (report.willRetry === true && publishes) {
    throw invalid('willRetry applies only to failed attempts');
  }
  if (report.willRetry === true && report.status === 'canceled') {
    throw invalid('willRetry applies only to failed attempts');
  }
  const canceled = report.status === 'canceled' || (report.status === 'failed' && cancelNote !== null);
  const retried = !canceled && report.status === 'failed' && report.willRetry === true;
  const error = canceled ? cancelNote : (report.error ?? (report.status === 'failed' ? 'failed without a message' : null));
  const counters = counterColumns(report.counters);
  const end: RunEnd = {
    status: canceled ? 'canceled' : retried ? 'queued' : report.status,
    finishedAt: retried ? null : now,
    error,
    counters,
    attempt: {
      // An attempt that failed on its own while a cancel was pending stays failed (its end reason keeps both).
      outcome: report.status,
      endReason: attemptEndReason(report, error, cancelNote),
      endedAt: now,
      ...(counters.bytesSent === undefined ? {} : { bytesSent: counters.bytesSent }),
      ...(report.bytesResent === undefined ? {} : { bytesResent: toBigInt(report.bytesResent) }),
      ...(report.phases === undefined ? {} : { phases: report.phases.map(({ name, startedAt, endedAt }) => ({ name, startedAt, endedAt })) }),
    },
    fileErrors: report.fileErrors ?? [],
    fileErrorCap: RUN_FILE_ERRORS_KEPT,
  };
  if (report.snapshot !== undefined) {
    // The root directory is committed last, so a published backup's resume point is the root, whichever of the
    // agent's progress reports arrived last (the agent does not wait for its last one before reporting the end).
    end.checkpoint = BACKUP_DONE_CHECKPOINT;
    const { id, rootTree, stats, publishedAt } = report.snapshot;
    end.snapshot = {
      id,
      rootTree,
      files: toBigInt(stats.files),
      dirs: toBigInt(stats.dirs),
      bytes: toBigInt(stats.bytes),
      bytesSent: toBigInt(stats.bytesSent),
      bytesStored: toBigInt(stats.bytesStored),
      publishedAt: new Date(publishedAt),
    };
  }
  return end;
}

/** Null for a success; a failure that crossed a cancel request keeps both reasons. */
function attemptEndReason(report: RunFinishRequest, error: string | null, cancelNote: string | null): string | null {
  if (report.status === 'succeeded' || report.status === 'partial') return null;
  if (report.status === 'failed' && cancelNote !== null) return `${report.error ?? 'failed without a message'}; ${cancelNote}`;
  return error;
}

function invalid(detail: string): DomainError {
  return new DomainError(ErrorCode.ValidationFailed, `Invalid request: ${detail}`, [detail]);
}
