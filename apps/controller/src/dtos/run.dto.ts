import { type FileErrorResponse, type RunAttemptResponse, type RunResponse, RunStatus } from '@berth/contracts';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, Max, Min } from 'class-validator';
import { type FileError, type RunAttempt } from '../generated/prisma/client';
import { type RunRecord } from '../repositories/run.repository';
import { toNumber } from '../utils/bigint.util';
import { IsHostName, IsUuid } from './validation';

export const RUN_LIST_LIMIT_DEFAULT = 50;
export const RUN_LIST_LIMIT_MAX = 200;
/** GET /runs/:id shows this many file errors; the count is in counters.fileErrors. */
export const RUN_FILE_ERRORS_SHOWN = 100;

export class RunQueryDto {
  @IsOptional()
  @IsUuid()
  hostId?: string;

  /** Host name, for the CLI (`berth runs HOST`). */
  @IsOptional()
  @IsHostName()
  host?: string;

  @IsOptional()
  @IsIn(Object.values(RunStatus))
  status?: RunStatus;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(RUN_LIST_LIMIT_MAX)
  limit?: number;
}

export function mapRun(run: RunRecord, fileErrors: readonly FileError[] = []): RunResponse {
  return {
    id: run.id,
    hostId: run.hostId,
    hostName: run.host.name,
    kind: run.kind,
    status: run.status,
    attempts: run.attempts,
    createdAt: run.createdAt.toISOString(),
    startedAt: run.startedAt?.toISOString() ?? null,
    finishedAt: run.finishedAt?.toISOString() ?? null,
    counters: {
      filesTotal: toNumber(run.filesTotal),
      filesDone: toNumber(run.filesDone),
      bytesTotal: toNumber(run.bytesTotal),
      bytesDone: toNumber(run.bytesDone),
      bytesSent: toNumber(run.bytesSent),
      bytesStored: toNumber(run.bytesStored),
      filesSkipped: toNumber(run.filesSkipped),
      fileErrors: toNumber(run.fileErrorCount),
    },
    error: run.error,
    checkpoint: run.checkpoint,
    snapshotId: run.snapshot?.id ?? null,
    restore:
      run.kind === 'restore' && run.restoreSnapshotId !== null && run.restoreTargetDir !== null
        ? { snapshotId: run.restoreSnapshotId, targetDir: run.restoreTargetDir, subPath: run.restoreSubPath }
        : null,
    fileErrors: fileErrors.map(mapFileError),
    attemptHistory: run.attemptHistory.map(mapRunAttempt),
  };
}

export function mapRunAttempt(attempt: RunAttempt): RunAttemptResponse {
  return {
    number: attempt.number,
    startedAt: attempt.startedAt.toISOString(),
    endedAt: attempt.endedAt?.toISOString() ?? null,
    outcome: attempt.outcome,
    endReason: attempt.endReason,
    resumedFrom: attempt.resumedFrom,
    bytesSent: toNumber(attempt.bytesSent),
    bytesResent: attempt.bytesResent === null ? null : toNumber(attempt.bytesResent),
  };
}

export function mapFileError(fileError: FileError): FileErrorResponse {
  return { path: fileError.path, message: fileError.message };
}
