import {
  type FleetHostReport,
  type FleetReport,
  type FleetTotals,
  type HostHistoryEntry,
  type HostHistoryResponse,
  HostStatus,
  type ReportLastRun,
  type ReportSnapshot,
  type ReportSuccessfulRun,
  RunStatus,
} from '@berth/contracts';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';
import { type FleetHostRow, type HistoryRow } from '../repositories/report.repository';
import { toNumber } from '../utils/bigint.util';

export const HISTORY_LIMIT_DEFAULT = 50;
export const HISTORY_LIMIT_MAX = 500;

const RUN_STATUSES = Object.values(RunStatus);

export class HistoryQueryDto {
  @ApiPropertyOptional({ type: Number, minimum: 1, maximum: HISTORY_LIMIT_MAX, default: HISTORY_LIMIT_DEFAULT, description: 'how many runs, newest first' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(HISTORY_LIMIT_MAX)
  limit?: number;
}

// Response classes: they exist for the OpenAPI document (names and fields of what the API answers); the mappers
// below build plain objects of the @berth/contracts types, which these classes implement.

export class ReportSnapshotDto implements ReportSnapshot {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'uuid' }) runId!: string;
  @ApiProperty({ format: 'date-time' }) publishedAt!: string;
  @ApiProperty({ description: 'seconds from publishedAt to generatedAt' }) ageSeconds!: number;
}

export class ReportSuccessfulRunDto implements ReportSuccessfulRun {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ enum: RUN_STATUSES, enumName: 'RunStatus' }) status!: RunStatus;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) startedAt!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) finishedAt!: string | null;
  @ApiProperty({ type: Number, nullable: true }) durationMs!: number | null;
  @ApiProperty() files!: number;
  @ApiProperty({ description: 'bytes in the snapshot' }) bytes!: number;
  @ApiProperty() bytesSent!: number;
  @ApiProperty({ description: 'bytes newly written to the repository' }) bytesStored!: number;
  @ApiProperty({ type: Number, nullable: true, description: 'bytes / duration' }) bytesPerSecond!: number | null;
}

export class ReportLastRunDto implements ReportLastRun {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ enum: RUN_STATUSES, enumName: 'RunStatus' }) status!: RunStatus;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) finishedAt!: string | null;
  @ApiProperty({ type: String, nullable: true }) error!: string | null;
}

export class FleetHostReportDto implements FleetHostReport {
  @ApiProperty({ format: 'uuid' }) hostId!: string;
  @ApiProperty() hostName!: string;
  @ApiProperty({ enum: Object.values(HostStatus), enumName: 'HostStatus' }) hostStatus!: HostStatus;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) lastSeenAt!: string | null;
  @ApiProperty() rpoHours!: number;
  @ApiProperty({ description: 'no snapshot newer than rpoHours (or none at all)' }) breachesRpo!: boolean;
  @ApiProperty({ type: ReportSnapshotDto, nullable: true }) lastSnapshot!: ReportSnapshotDto | null;
  @ApiProperty({ type: ReportSuccessfulRunDto, nullable: true }) lastSuccessfulRun!: ReportSuccessfulRunDto | null;
  @ApiProperty({ type: ReportLastRunDto, nullable: true }) lastRun!: ReportLastRunDto | null;
  @ApiProperty() snapshots!: number;
  @ApiProperty() bytesStoredTotal!: number;
}

export class FleetTotalsDto implements FleetTotals {
  @ApiProperty() hosts!: number;
  @ApiProperty() protected!: number;
  @ApiProperty() breaching!: number;
  @ApiProperty() neverBackedUp!: number;
  @ApiProperty() lastRunFailed!: number;
  @ApiProperty() snapshots!: number;
  @ApiProperty() bytesProtected!: number;
  @ApiProperty() bytesStored!: number;
  @ApiProperty() lastRunsBytesSent!: number;
}

export class FleetReportDto implements FleetReport {
  @ApiProperty({ format: 'date-time' }) generatedAt!: string;
  @ApiProperty() rpoHours!: number;
  @ApiProperty({ type: FleetTotalsDto }) totals!: FleetTotalsDto;
  @ApiProperty({ type: [FleetHostReportDto] }) hosts!: FleetHostReportDto[];
}

export class HostHistoryEntryDto implements HostHistoryEntry {
  @ApiProperty({ format: 'uuid' }) runId!: string;
  @ApiProperty({ enum: RUN_STATUSES, enumName: 'RunStatus' }) status!: RunStatus;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) startedAt!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) finishedAt!: string | null;
  @ApiProperty({ type: Number, nullable: true }) durationMs!: number | null;
  @ApiProperty() attempts!: number;
  @ApiProperty() files!: number;
  @ApiProperty() bytes!: number;
  @ApiProperty() bytesSent!: number;
  @ApiProperty() bytesStored!: number;
  @ApiProperty() fileErrors!: number;
  @ApiProperty({ type: String, format: 'uuid', nullable: true }) snapshotId!: string | null;
}

export class HostHistoryResponseDto implements HostHistoryResponse {
  @ApiProperty({ format: 'uuid' }) hostId!: string;
  @ApiProperty() hostName!: string;
  @ApiProperty({ type: [HostHistoryEntryDto] }) runs!: HostHistoryEntryDto[];
}

function iso(date: Date | null): string | null {
  return date?.toISOString() ?? null;
}

function durationMs(startedAt: Date | null, finishedAt: Date | null): number | null {
  return startedAt === null || finishedAt === null ? null : Math.max(0, finishedAt.getTime() - startedAt.getTime());
}

/** One host's line of the fleet report, judged against its objective at `now`. */
export function mapFleetHost(row: FleetHostRow, rpoHours: number, now: Date): FleetHostReport {
  const lastSnapshot: ReportSnapshot | null =
    row.snapshotId === null || row.snapshotRunId === null || row.publishedAt === null
      ? null
      : { id: row.snapshotId, runId: row.snapshotRunId, publishedAt: row.publishedAt.toISOString(), ageSeconds: Math.max(0, Math.floor((now.getTime() - row.publishedAt.getTime()) / 1000)) };
  let lastSuccessfulRun: ReportSuccessfulRun | null = null;
  if (lastSnapshot !== null && row.successStatus !== null) {
    const duration = durationMs(row.successStartedAt, row.successFinishedAt);
    const bytes = toNumber(row.bytes ?? 0n);
    lastSuccessfulRun = {
      id: lastSnapshot.runId,
      status: row.successStatus,
      startedAt: iso(row.successStartedAt),
      finishedAt: iso(row.successFinishedAt),
      durationMs: duration,
      files: toNumber(row.files ?? 0n),
      bytes,
      bytesSent: toNumber(row.bytesSent ?? 0n),
      bytesStored: toNumber(row.bytesStored ?? 0n),
      bytesPerSecond: duration === null || duration === 0 ? null : Math.round((bytes * 1000) / duration),
    };
  }
  const lastRun: ReportLastRun | null =
    row.lastRunId === null || row.lastRunStatus === null || row.lastRunCreatedAt === null
      ? null
      : { id: row.lastRunId, status: row.lastRunStatus, createdAt: row.lastRunCreatedAt.toISOString(), finishedAt: iso(row.lastRunFinishedAt), error: row.lastRunError };
  return {
    hostId: row.hostId,
    hostName: row.hostName,
    hostStatus: row.hostStatus,
    lastSeenAt: iso(row.lastSeenAt),
    rpoHours,
    breachesRpo: lastSnapshot === null || lastSnapshot.ageSeconds > rpoHours * 3600,
    lastSnapshot,
    lastSuccessfulRun,
    lastRun,
    snapshots: toNumber(row.snapshotCount),
    bytesStoredTotal: toNumber(row.bytesStoredTotal),
  };
}

export function fleetTotals(hosts: readonly FleetHostReport[]): FleetTotals {
  const sum = (value: (host: FleetHostReport) => number): number => hosts.reduce((total, host) => total + value(host), 0);
  const breaching = hosts.filter((host) => host.breachesRpo).length;
  return {
    hosts: hosts.length,
    protected: hosts.length - breaching,
    breaching,
    neverBackedUp: hosts.filter((host) => host.lastSnapshot === null).length,
    lastRunFailed: hosts.filter((host) => host.lastRun?.status === RunStatus.Failed || host.lastRun?.status === RunStatus.Canceled).length,
    snapshots: sum((host) => host.snapshots),
    bytesProtected: sum((host) => host.lastSuccessfulRun?.bytes ?? 0),
    bytesStored: sum((host) => host.bytesStoredTotal),
    lastRunsBytesSent: sum((host) => host.lastSuccessfulRun?.bytesSent ?? 0),
  };
}

export function mapFleetReport(rows: readonly FleetHostRow[], rpoHours: number, now: Date): FleetReport {
  const hosts = rows.map((row) => mapFleetHost(row, rpoHours, now));
  return { generatedAt: now.toISOString(), rpoHours, totals: fleetTotals(hosts), hosts };
}

export function mapHistoryEntry(run: HistoryRow): HostHistoryEntry {
  return {
    runId: run.id,
    status: run.status,
    createdAt: run.createdAt.toISOString(),
    startedAt: iso(run.startedAt),
    finishedAt: iso(run.finishedAt),
    durationMs: durationMs(run.startedAt, run.finishedAt),
    attempts: run.attempts,
    files: toNumber(run.filesDone),
    bytes: toNumber(run.bytesDone),
    bytesSent: toNumber(run.bytesSent),
    bytesStored: toNumber(run.bytesStored),
    fileErrors: toNumber(run.fileErrorCount),
    snapshotId: run.snapshot?.id ?? null,
  };
}
