import { type RunJobState } from '../repositories/queue.repository';
import { type ActiveRunRef, type RunSettlement } from '../repositories/run.repository';

const NO_REPORT = 'abandoned: no report from the agent (it was killed or lost its connection)';

/** End reasons and errors the reconciler writes; tests and the README quote them. */
export const RECONCILE_REASONS = {
  lockExpired: `${NO_REPORT}; its job lock expired`,
  backToWaiting: `${NO_REPORT}; BullMQ put its job back to waiting`,
  delayed: `${NO_REPORT}; BullMQ retries its job after the backoff`,
  jobFailed: (failedReason: string) => `BullMQ failed the job: ${failedReason}`,
  jobCompleted: "the job completed but the agent's final report never reached the controller",
  jobLost: 'job lost: the run has no BullMQ job any more (removed, or Redis lost its data)',
} as const;

/**
 * What the reconciler does to an active run given where its job is in BullMQ, or null to leave it alone.
 *
 * A running run's job is active and locked by its agent from the agent's start report until its finish report.
 * Anything else means the agent stopped reporting: when BullMQ will run the job again (waiting, delayed, or an
 * expired lock that the next worker's stalled check will put back) the run goes back to queued and its attempt is
 * closed as abandoned; when BullMQ gave up, or the job is gone, the run fails. A queued run is only failed, when
 * its job can no longer run. Abandoned attempts end at their last report (endedAt null).
 */
export function decideSettlement(run: ActiveRunRef, job: RunJobState, now: Date): RunSettlement | null {
  const requeue = (reason: string): RunSettlement => ({
    expected: { status: 'running', attempts: run.attempts },
    status: 'queued',
    error: reason,
    attempt: { outcome: 'abandoned', endReason: reason, endedAt: null },
    at: now,
  });
  const fail = (error: string): RunSettlement => ({
    expected: run.status === 'queued' ? { status: 'queued', attempts: run.attempts, updatedAt: run.updatedAt } : { status: 'running', attempts: run.attempts },
    status: 'failed',
    error,
    attempt: { outcome: 'abandoned', endReason: `${NO_REPORT}; ${error}`, endedAt: null },
    at: now,
  });

  if (run.status !== 'running' && run.status !== 'queued') return null;
  switch (job.state) {
    case 'failed':
      return fail(RECONCILE_REASONS.jobFailed(job.failedReason));
    case 'completed':
      return fail(RECONCILE_REASONS.jobCompleted);
    case 'missing':
      return fail(RECONCILE_REASONS.jobLost);
    case 'active':
      return run.status === 'running' && !job.locked ? requeue(RECONCILE_REASONS.lockExpired) : null;
    case 'waiting':
      return run.status === 'running' ? requeue(RECONCILE_REASONS.backToWaiting) : null;
    case 'delayed':
      return run.status === 'running' ? requeue(RECONCILE_REASONS.delayed) : null;
  }
}
