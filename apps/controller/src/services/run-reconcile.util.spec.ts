import { type RunJobState } from '../repositories/queue.repository';
import { type ActiveRunRef } from '../repositories/run.repository';
import { decideSettlement, isOrphanOfVanishedAgent, RECONCILE_REASONS } from './run-reconcile.util';

const now = new Date('2026-11-25T12:00:00.000Z');
const seen = new Date('2026-11-25T11:58:00.000Z');
const running: ActiveRunRef = { id: 'r1', hostId: 'h1', status: 'running', attempts: 2, updatedAt: seen, cancelRequestedAt: null, error: null, hostLastSeenAt: seen };
const queued: ActiveRunRef = { ...running, status: 'queued' };

describe('decideSettlement', () => {
  it('leaves a running run alone while its agent holds the job', () => {
    expect(decideSettlement(running, { state: 'active', locked: true }, now)).toBeNull();
  });

  it('sends a running run back to queued, its attempt abandoned, when BullMQ will run the job again', () => {
    const cases: [RunJobState, string][] = [
      [{ state: 'active', locked: false }, RECONCILE_REASONS.lockExpired],
      [{ state: 'waiting' }, RECONCILE_REASONS.backToWaiting],
      [{ state: 'delayed' }, RECONCILE_REASONS.delayed],
    ];
    for (const [job, reason] of cases) {
      expect(decideSettlement(running, job, now)).toEqual({
        expected: { status: 'running', attempts: 2 },
        status: 'queued',
        error: reason,
        attempt: { outcome: 'abandoned', endReason: reason, endedAt: null },
        at: now,
      });
      expect(reason).toMatch(/^abandoned: no report from the agent \(it was killed or lost its connection\); /);
    }
  });

  it('fails a running run whose job BullMQ failed, completed without a report, or lost', () => {
    const failed = decideSettlement(running, { state: 'failed', failedReason: 'job stalled more than allowable limit' }, now);
    expect(failed).toEqual({
      expected: { status: 'running', attempts: 2 },
      status: 'failed',
      error: 'BullMQ failed the job: job stalled more than allowable limit',
      attempt: { outcome: 'abandoned', endReason: 'abandoned: no report from the agent (it was killed or lost its connection); BullMQ failed the job: job stalled more than allowable limit', endedAt: null },
      at: now,
    });
    expect(decideSettlement(running, { state: 'completed' }, now)?.error).toBe(RECONCILE_REASONS.jobCompleted);
    expect(decideSettlement(running, { state: 'missing' }, now)?.error).toBe('job lost: the run has no BullMQ job any more (removed, or Redis lost its data)');
  });

  it('fails a queued run only when its job can no longer run, and only if the run did not change since it was seen', () => {
    expect(decideSettlement(queued, { state: 'failed', failedReason: 'boom' }, now)).toMatchObject({ expected: { status: 'queued', attempts: 2, updatedAt: seen }, status: 'failed', error: 'BullMQ failed the job: boom' });
    expect(decideSettlement(queued, { state: 'missing' }, now)?.status).toBe('failed');
    for (const job of [{ state: 'waiting' }, { state: 'delayed' }, { state: 'active', locked: false }, { state: 'active', locked: true }] as RunJobState[]) {
      expect(decideSettlement(queued, job, now)).toBeNull();
    }
  });

  it('never touches ended runs', () => {
    expect(decideSettlement({ ...running, status: 'failed' }, { state: 'missing' }, now)).toBeNull();
  });

  it('ends a run an operator asked to cancel once no agent holds its job', () => {
    const note = 'canceled at the request of ops (operator)';
    const canceling = { ...running, cancelRequestedAt: seen, error: note };
    expect(decideSettlement(canceling, { state: 'active', locked: true }, now)).toBeNull();
    for (const job of [{ state: 'active', locked: false }, { state: 'waiting' }, { state: 'delayed' }, { state: 'missing' }, { state: 'failed', failedReason: 'x' }] as RunJobState[]) {
      expect(decideSettlement(canceling, job, now)).toEqual({
        expected: { status: 'running', attempts: 2 },
        status: 'canceled',
        error: note,
        attempt: { outcome: 'abandoned', endReason: note, endedAt: null },
        at: now,
      });
    }
    // A job that completed published a snapshot: that is not undone by a late cancel.
    expect(decideSettlement(canceling, { state: 'completed' }, now)?.status).toBe('failed');
    expect(decideSettlement({ ...queued, cancelRequestedAt: seen, error: null }, { state: 'waiting' }, now)).toMatchObject({
      expected: { status: 'queued', attempts: 2, updatedAt: seen },
      status: 'canceled',
      error: RECONCILE_REASONS.canceledDefault,
    });
  });
});

describe('isOrphanOfVanishedAgent', () => {
  const offlineAfterMs = 15_000;
  const unlocked: RunJobState = { state: 'active', locked: false };

  it('is true for an unlocked active job of a host silent past the offline threshold, or never heard of', () => {
    expect(isOrphanOfVanishedAgent({ ...running, hostLastSeenAt: new Date(now.getTime() - 15_001) }, unlocked, now, offlineAfterMs)).toBe(true);
    expect(isOrphanOfVanishedAgent({ ...running, hostLastSeenAt: null }, unlocked, now, offlineAfterMs)).toBe(true);
  });

  it('is false while the agent is heard of, or the job is held or not active', () => {
    expect(isOrphanOfVanishedAgent({ ...running, hostLastSeenAt: new Date(now.getTime() - 15_000) }, unlocked, now, offlineAfterMs)).toBe(false);
    const silent = { ...running, hostLastSeenAt: null };
    for (const job of [{ state: 'active', locked: true }, { state: 'waiting' }, { state: 'delayed' }, { state: 'missing' }] as RunJobState[]) {
      expect(isOrphanOfVanishedAgent(silent, job, now, offlineAfterMs)).toBe(false);
    }
  });
});
