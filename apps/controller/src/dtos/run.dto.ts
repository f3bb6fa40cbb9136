import { type FileErrorPage, type FileErrorResponse, type RunAttemptResponse, type RunPhase, type RunResponse, RunStatus } from '@berth/contracts';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, Matches, Max, Min } from 'class-validator';
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
    cancelRequestedAt: run.cancelRequestedAt?.toISOString() ?? null,
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
    phases: storedPhases(attempt.phases),
  };
}

/** The phases column as stored by closeOpenAttempt (validated on the way in); anything else reads as none. */
function storedPhases(value: unknown): RunPhase[] {
  if (!Array.isArray(value)) return [];
  return value.filter(
    (phase): phase is RunPhase =>
      typeof phase === 'object' && phase !== null && typeof (phase as RunPhase).name === 'string' && typeof (phase as RunPhase).startedAt === 'string' && typeof (phase as RunPhase).endedAt === 'string',
  );
}

export function mapFileError(fileError: FileError): FileErrorResponse {
  return { path: fileError.path, message: fileError.message };
}

export function mapFileErrorRow(fileError: FileError): FileErrorPage['errors'][number] {
  return { id: fileError.id.toString(), at: fileError.createdAt.toISOString(), path: fileError.path, message: fileError.message };
}

export const FILE_ERRORS_PAGE_DEFAULT = 500;
export const FILE_ERRORS_PAGE_MAX = 5_000;

export class FileErrorQueryDto {
  @IsOptional()
  @Matches(/^[1-9][0-9]{0,18}$/, { message: "after must be a file error id (the previous page's nextAfter)" })
  after?: string;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(FILE_ERRORS_PAGE_MAX)
  limit?: number;
}
