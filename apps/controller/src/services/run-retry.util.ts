import { type JobData, JobName } from '@berth/contracts';
import { DomainError } from '../errors/domain.error';
import { ErrorCode } from '../errors/error-code';
import { type Host } from '../generated/prisma/client';
import { type RunRecord } from '../repositories/run.repository';
import { toNumber } from '../utils/bigint.util';

/**
 * Why a run cannot be retried, or null when it can. Only runs that ended without publishing anything (failed,
 * canceled) are retried: their next attempt resumes from the receiver's journal. A succeeded or partial backup
 * published its snapshot, which is never changed afterwards, so a retry would have nothing to add: a new backup
 * is the way (it reuses everything already stored).
 */
export function retryRefusal(run: RunRecord): DomainError | null {
  const label = `${run.kind === 'backup' ? 'Backup' : 'Restore'} run ${run.id}`;
  const again = run.kind === 'backup' ? `start a new backup of ${run.host.name}` : 'start a new restore';
  switch (run.status) {
    case 'queued':
      return new DomainError(ErrorCode.RunInProgress, `${label} is queued: it runs when the agent of ${run.host.name} takes its job; there is nothing to retry`);
    case 'running':
      return new DomainError(ErrorCode.RunInProgress, `${label} is running (attempt ${run.attempts}); there is nothing to retry`);
    case 'succeeded':
      return new DomainError(ErrorCode.RunNotRetryable, `${label} succeeded${publishedPart(run)}; there is nothing to retry (${again} instead)`);
    case 'partial':
      return new DomainError(
        ErrorCode.RunNotRetryable,
        `${label} ended partial${publishedPart(run)} without ${toNumber(run.fileErrorCount)} unreadable file(s); a published snapshot is never changed: ${again} instead (it reuses what is already stored)`,
      );
    case 'failed':
    case 'canceled':
      if (run.kind === 'restore' && run.restoreSnapshotId === null) {
        return new DomainError(ErrorCode.RunNotRetryable, `${label} cannot be retried: the snapshot it restores no longer exists`);
      }
      return null;
  }
}

/**
 * The job that runs the retried run, for when BullMQ no longer has the original: a backup takes the host's
 * current paths and excludes, a restore the run's own snapshot and target.
 */
export function retryJobData(run: RunRecord, host: Host): JobData {
  if (run.kind === 'backup') {
    return { kind: JobName.Backup, runId: run.id, hostId: host.id, paths: host.paths, excludes: host.excludes };
  }
  if (run.restoreSnapshotId === null || run.restoreTargetDir === null) {
    throw new DomainError(ErrorCode.RunNotRetryable, `Restore run ${run.id} cannot be retried: the snapshot it restores no longer exists`);
  }
  return { kind: JobName.Restore, runId: run.id, hostId: run.hostId, snapshotId: run.restoreSnapshotId, targetDir: run.restoreTargetDir, subPath: run.restoreSubPath };
}

function publishedPart(run: RunRecord): string {
  return run.snapshot === null ? '' : ` and published snapshot ${run.snapshot.id}`;
}
