import { type RunPhase } from '@berth/contracts';
import { type Prisma, type RunAttemptOutcome } from '../generated/prisma/client';

/**
 * Statements on run_attempts used inside the run repository's transactions. A run has at most one open attempt
 * (ended_at null): the one numbered runs.attempts while the run is running. Every transition that ends or replaces
 * an attempt closes it here, so the invariant holds whichever report (or silence) ends it.
 */

/** End reason of an attempt the agent never reported on, found when the next attempt starts. */
export const ABANDONED_BY_NEXT_START = 'abandoned: no report from the agent (it was killed or lost its connection)';

export interface AttemptClose {
  outcome: RunAttemptOutcome;
  endReason: string | null;
  /** When it ended; null: the last time the agent reported on it (for attempts nobody closed in time). */
  endedAt: Date | null;
  bytesSent?: bigint;
  bytesResent?: bigint;
  phases?: RunPhase[];
}

/** Closes the run's open attempt, if any; returns how many were closed (0 or 1). */
export async function closeOpenAttempt(tx: Prisma.TransactionClient, runId: string, close: AttemptClose): Promise<number> {
  return tx.$executeRaw`
    UPDATE run_attempts
    SET outcome = ${close.outcome}::"RunAttemptOutcome",
        end_reason = ${close.endReason},
        ended_at = COALESCE(${close.endedAt}::timestamp(3), last_report_at),
        bytes_sent = COALESCE(${close.bytesSent ?? null}::bigint, bytes_sent),
        bytes_resent = COALESCE(${close.bytesResent ?? null}::bigint, bytes_resent),
        phases = COALESCE(${close.phases === undefined ? null : JSON.stringify(close.phases)}::jsonb, phases)
    WHERE run_id = ${runId}::uuid AND ended_at IS NULL`;
}
