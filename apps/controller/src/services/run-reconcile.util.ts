import { type RunJobState } from '../repositories/queue.repository';
import { type ActiveRunRef, type RunSettlement } from '../repositories/run.repository';

const NO_REPORT = 'abandoned: no report from the agent (it was killed or lost its connection)';

/** What BullMQ does with the job of a run sent back to queued. */
const REQUEUED_BECAUSE = {
  lockExpired: 'its job lock expired',
  backToWaiting: 'BullMQ put its job back to waiting',
  delayed: 'BullMQ retries its job after the backoff',
} as const;

/** End reasons and errors the reconciler writes; tests and the README quote them. */
export const RECONCILE_REASONS = {
  lockExpired: `${NO_REPORT}; ${REQUEUED_BECAUSE.lockExpired}`,
  backToWaiting: `${NO_REPORT}; ${REQUEUED_BECAUSE.backToWaiting}`,
  delayed: `${NO_REPORT}; ${REQUEUED_BECAUSE.delayed}`,
  jobFailed: (failedReason: string) => `BullMQ failed the job: ${failedReason}`,
  jobCompleted: "the job completed but the agent's final report never reached the controller",
  jobLost: 'job lost: the run has no BullMQ job any more (removed, or Redis lost its data)',
  agentOffline: (lastSeenAt: Date | null) =>
    `its agent went offline (${lastSeenAt === null ? 'never heard of' : `no heartbeat since ${lastSeenAt.toISOString()}`}) and its job lock expired`,
  canceledDefault: 'canceled at the request of an operator',
} as const;

/**
 * True when the run's job is active but nobody holds its lock and the host's agent has been silent past the
 * offline threshold: the agent vanished, and no worker runs the stalled check of its queue, so the controller
 * fails that attempt itself (BullMQ then retries the job after the backoff, or fails it past its attempts).
 */
export function isOrphanOfVanishedAgent(run: ActiveRunRef, job: RunJobState, now: Date, offlineAfterMs: number): boolean {
  if (job.state !== 'active' || job.locked) return false;
  return run.hostLastSeenAt === null || now.getTime() - run.hostLastSeenAt.getTime() > offlineAfterMs;
}

/**
 * What the reconciler does to an active run given where its job is in BullMQ, or null to leave it alone.
 *
 * A running run's job is active and locked by its agent from the agent's start report until its finish report.
 * Anything else means the agent stopped reporting: when BullMQ will run the job again (waiting, delayed, or an
 * expired lock that the next worker's stalled check will put back) the run goes back to queued and its attempt is
 * closed as abandoned; when BullMQ gave up, or the job is gone, the run fails. A queued run is only failed, when
 * its job can no longer run. A run an operator asked to cancel ends canceled once no agent holds its job.
 * Abandoned attempts end at their last report (endedAt null).
 */
export function decideSettlement(run: ActiveRunRef, job: RunJobState, now: Date, cause?: string): RunSettlement | null {
  const requeue = (what: string): RunSettlement => {
    // `cause`: why the controller itself moved the job (its agent vanished), told before what BullMQ does now.
    const reason = [NO_REPORT, ...(cause === undefined ? [] : [cause]), what].join('; ');
    return {
      expected: { status: 'running', attempts: run.attempts },
      status: 'queued',
      error: reason,
      attempt: { outcome: 'abandoned', endReason: reason, endedAt: null },
      at: now,
    };
  };
  const fail = (error: string): RunSettlement => ({
    expected: run.status === 'queued' ? { status: 'queued', attempts: run.attempts, updatedAt: run.updatedAt } : { status: 'running', attempts: run.attempts },
    status: 'failed',
    error,
    attempt: { outcome: 'abandoned', endReason: `${NO_REPORT}; ${error}`, endedAt: null },
    at: now,
  });

  if (run.status !== 'running' && run.status !== 'queued') return null;
  // A cancel request ends the run once no agent holds its job (a completed job published a snapshot: see below).
  if (run.cancelRequestedAt !== null && !(job.state === 'active' && job.locked) && job.state !== 'completed') {
    const note = run.error ?? RECONCILE_REASONS.canceledDefault;
    return {
      expected: run.status === 'queued' ? { status: 'queued', attempts: run.attempts, updatedAt: run.updatedAt } : { status: 'running', attempts: run.attempts },
      status: 'canceled',
      error: note,
      attempt: { outcome: 'abandoned', endReason: note, endedAt: null },
      at: now,
    };
  }
  switch (job.state) {
    case 'failed':
      return fail(RECONCILE_REASONS.jobFailed(job.failedReason));
    case 'completed':
      return fail(RECONCILE_REASONS.jobCompleted);
    case 'missing':
      return fail(RECONCILE_REASONS.jobLost);
    case 'active':
      return run.status === 'running' && !job.locked ? requeue(REQUEUED_BECAUSE.lockExpired) : null;
    case 'waiting':
      return run.status === 'running' ? requeue(REQUEUED_BECAUSE.backToWaiting) : null;
    case 'delayed':
      return run.status === 'running' ? requeue(REQUEUED_BECAUSE.delayed) : null;
  }
}
