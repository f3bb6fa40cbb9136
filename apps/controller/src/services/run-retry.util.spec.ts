import { type Host } from '../generated/prisma/client';
import { DomainError } from '../errors/domain.error';
import { type RunRecord } from '../repositories/run.repository';
import { retryJobData, retryRefusal } from './run-retry.util';

const at = new Date('2026-11-25T10:00:00.000Z');
const host: Host = { id: 'h1', name: 'web1', paths: ['/srv', '/etc'], excludes: ['*.tmp'], status: 'online', lastSeenAt: at, enrollmentSecretHash: null, createdAt: at, updatedAt: at, groupId: null, pausedAt: null, rpoBreachNotifiedAt: null };

function run(overrides: Partial<RunRecord> = {}): RunRecord {
  return {
    id: 'r1',
    hostId: 'h1',
    host: { name: 'web1' },
    snapshot: null,
    attemptHistory: [],
    kind: 'backup',
    status: 'failed',
    attempts: 3,
    createdAt: at,
    updatedAt: at,
    startedAt: at,
    finishedAt: at,
    filesTotal: 0n,
    filesDone: 0n,
    bytesTotal: 0n,
    bytesDone: 0n,
    bytesSent: 0n,
    bytesStored: 0n,
    filesSkipped: 0n,
    fileErrorCount: 0n,
    error: 'receiver_unavailable: connection to receiver lost',
    checkpoint: '/srv/a',
    cancelRequestedAt: null,
    restoreSnapshotId: null,
    restoreTargetDir: null,
    restoreSubPath: null,
    ...overrides,
  };
}

function refusal(of: RunRecord): { code: string; message: string } | null {
  const error = retryRefusal(of);
  return error === null ? null : { code: error.code, message: error.message };
}

describe('retryRefusal', () => {
  it('lets failed and canceled runs be retried', () => {
    expect(retryRefusal(run())).toBeNull();
    expect(retryRefusal(run({ status: 'canceled' }))).toBeNull();
  });

  it('refuses active runs with run_in_progress', () => {
    expect(refusal(run({ status: 'queued' }))).toEqual({ code: 'run_in_progress', message: 'Backup run r1 is queued: it runs when the agent of web1 takes its job; there is nothing to retry' });
    expect(refusal(run({ status: 'running' }))).toEqual({ code: 'run_in_progress', message: 'Backup run r1 is running (attempt 3); there is nothing to retry' });
  });

  it('refuses runs that published a snapshot with run_not_retryable, saying to start a new backup', () => {
    expect(refusal(run({ status: 'succeeded', snapshot: { id: 's1' } }))).toEqual({
      code: 'run_not_retryable',
      message: 'Backup run r1 succeeded and published snapshot s1; there is nothing to retry (start a new backup of web1 instead)',
    });
    expect(refusal(run({ status: 'partial', snapshot: { id: 's1' }, fileErrorCount: 2n }))).toEqual({
      code: 'run_not_retryable',
      message: 'Backup run r1 ended partial and published snapshot s1 without 2 unreadable file(s); a published snapshot is never changed: start a new backup of web1 instead (it reuses what is already stored)',
    });
  });

  it('refuses a restore whose snapshot is gone', () => {
    expect(refusal(run({ kind: 'restore', restoreSnapshotId: null, restoreTargetDir: '/tmp/out' }))?.code).toBe('run_not_retryable');
  });
});

describe('retryJobData', () => {
  it("rebuilds a backup job from the host's current paths and a restore job from the run", () => {
    expect(retryJobData(run(), host)).toEqual({ kind: 'backup', runId: 'r1', hostId: 'h1', paths: ['/srv', '/etc'], excludes: ['*.tmp'] });
    const restore = run({ kind: 'restore', restoreSnapshotId: 's1', restoreTargetDir: '/tmp/out', restoreSubPath: '/srv/a' });
    expect(retryJobData(restore, host)).toEqual({ kind: 'restore', runId: 'r1', hostId: 'h1', snapshotId: 's1', targetDir: '/tmp/out', subPath: '/srv/a' });
    expect(() => retryJobData(run({ kind: 'restore' }), host)).toThrow(DomainError);
  });
});
