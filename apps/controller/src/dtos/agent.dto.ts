import {
  RUN_PHASES,
  type RunPhase,
  type RunPhaseName,
  type AgentConfigResponse,
  type EnrollRequest,
  type EnrollResponse,
  type FileErrorResponse,
  type HeartbeatRequest,
  type RunCounters,
  type RunFinishRequest,
  type RunProgressRequest,
  type RunStartResponse,
  type SnapshotStats,
} from '@berth/contracts';
import { Type } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsBoolean, IsIn, IsISO8601, IsObject, IsOptional, IsString, Length, MaxLength, ValidateNested } from 'class-validator';
import { type Host } from '../generated/prisma/client';
import { IsCount, IsFileErrorList, IsUuid, TEXT_MAX } from './validation';

/** Most file errors one finish request may carry (the run keeps at most RUN_FILE_ERRORS_KEPT in total). */
export const FINISH_FILE_ERRORS_MAX = 10_000;

export class EnrollDto implements EnrollRequest {
  @IsString()
  @Length(1, 512)
  enrollmentSecret!: string;
}

/** Most run ids one heartbeat may name (an agent runs at most 64 jobs at once). */
export const HEARTBEAT_RUN_IDS_MAX = 64;

export class HeartbeatDto implements HeartbeatRequest {
  @IsArray()
  @ArrayMaxSize(HEARTBEAT_RUN_IDS_MAX)
  @IsUuid({ each: true })
  runIds!: string[];
}

export class RunCountersDto implements Partial<RunCounters> {
  @IsOptional() @IsCount() filesTotal?: number;
  @IsOptional() @IsCount() filesDone?: number;
  @IsOptional() @IsCount() bytesTotal?: number;
  @IsOptional() @IsCount() bytesDone?: number;
  @IsOptional() @IsCount() bytesSent?: number;
  @IsOptional() @IsCount() bytesStored?: number;
  @IsOptional() @IsCount() filesSkipped?: number;
  @IsOptional() @IsCount() fileErrors?: number;
}

export class RunProgressDto implements RunProgressRequest {
  @IsObject()
  @ValidateNested()
  @Type(() => RunCountersDto)
  counters!: RunCountersDto;

  /** Last directory the receiver acknowledged as durable. */
  @IsOptional()
  @IsString()
  @MaxLength(TEXT_MAX)
  checkpoint?: string;

  /** Bytes this attempt sent again for work an earlier attempt had not committed, when the agent can tell. */
  @IsOptional()
  @IsCount()
  bytesResent?: number;
}

export class SnapshotStatsDto implements SnapshotStats {
  @IsCount() files!: number;
  @IsCount() dirs!: number;
  @IsCount() bytes!: number;
  @IsCount() bytesSent!: number;
  @IsCount() bytesStored!: number;
}

/** An attempt has a handful of phases; more is a broken or hostile agent. */
export const RUN_PHASES_MAX = 16;

export class RunPhaseDto implements RunPhase {
  @IsIn(RUN_PHASES)
  name!: RunPhaseName;

  @IsISO8601({ strict: true })
  startedAt!: string;

  @IsISO8601({ strict: true })
  endedAt!: string;
}

export class FinishedSnapshotDto {
  @IsUuid()
  id!: string;

  @IsString()
  @Length(1, 256)
  rootTree!: string;

  @IsObject()
  @ValidateNested()
  @Type(() => SnapshotStatsDto)
  stats!: SnapshotStatsDto;

  @IsISO8601({ strict: true })
  publishedAt!: string;
}

export const FINISH_STATUSES = ['succeeded', 'partial', 'failed', 'canceled'] as const;

export class RunFinishDto implements RunFinishRequest {
  @IsIn(FINISH_STATUSES)
  status!: (typeof FINISH_STATUSES)[number];

  @IsObject()
  @ValidateNested()
  @Type(() => RunCountersDto)
  counters!: RunCountersDto;

  @IsOptional()
  @IsString()
  @MaxLength(TEXT_MAX)
  error?: string;

  @IsOptional()
  @IsBoolean()
  willRetry?: boolean;

  @IsOptional()
  @IsFileErrorList(FINISH_FILE_ERRORS_MAX)
  fileErrors?: FileErrorResponse[];

  /** Backups that succeeded or ended partial: the snapshot the receiver published. */
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => FinishedSnapshotDto)
  snapshot?: FinishedSnapshotDto;

  @IsOptional()
  @IsCount()
  bytesResent?: number;

  @IsOptional()
  @IsArray()
  @ArrayMaxSize(RUN_PHASES_MAX)
  @ValidateNested({ each: true })
  @Type(() => RunPhaseDto)
  phases?: RunPhaseDto[];
}

export function mapEnrollment(host: Host, credential: string, redisUsername: string | null): EnrollResponse {
  return { hostId: host.id, hostName: host.name, credential, redisUsername };
}

export function mapRunStart(run: { id: string; kind: RunStartResponse['kind']; attempts: number }): RunStartResponse {
  return { runId: run.id, kind: run.kind, attempt: run.attempts };
}

export interface ReceiverEndpoint {
  host: string;
  port: number;
  tls: boolean;
  caPem: string | null;
  serverName: string | null;
}

export function mapAgentConfig(
  host: Host,
  queue: { name: string; prefix: string },
  redis: { url: string; username: string | null },
  receiver: ReceiverEndpoint,
  heartbeatMs: number,
): AgentConfigResponse {
  return { hostId: host.id, hostName: host.name, queueName: queue.name, queuePrefix: queue.prefix, redisUrl: redis.url, redisUsername: redis.username, receiver, heartbeatMs };
}
