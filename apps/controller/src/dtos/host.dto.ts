import { type CreateHostRequest, type CreateHostResponse, type HostResponse, type ScheduleRequest, type UpdateHostRequest } from '@berth/contracts';
import { IsIn, IsOptional, ValidateIf } from 'class-validator';
import { type HostRecord } from '../repositories/host.repository';
import { effectiveSettings } from '../services/effective-settings.util';
import { IsScheduleRequest, mapSchedule } from './schedule.dto';
import { IsAbsolutePathList, IsExcludeList, IsHostName } from './validation';

export const HOST_PATHS_MAX = 64;

export class CreateHostDto implements CreateHostRequest {
  @IsHostName()
  name!: string;

  /** Required unless the host joins a group, whose paths then apply. */
  @ValidateIf((dto: CreateHostDto) => dto.group === undefined || dto.paths !== undefined)
  @IsAbsolutePathList({ min: 1, max: HOST_PATHS_MAX })
  paths?: string[];

  @IsOptional()
  @IsExcludeList()
  excludes?: string[];

  @IsOptional()
  @IsHostName()
  group?: string;
}

export class UpdateHostDto implements UpdateHostRequest {
  /** A group name, or null to leave the group. */
  @ValidateIf((dto: UpdateHostDto) => dto.group !== null && dto.group !== undefined)
  @IsHostName()
  group?: string | null;

  /** An empty list clears the host's own paths (its group's then apply). */
  @IsOptional()
  @IsAbsolutePathList({ min: 0, max: HOST_PATHS_MAX })
  paths?: string[];

  @IsOptional()
  @IsExcludeList()
  excludes?: string[];

  @ValidateIf((dto: UpdateHostDto) => dto.schedule !== undefined)
  @IsScheduleRequest()
  schedule?: ScheduleRequest | null;
}

export class BackupQueryDto {
  @IsOptional()
  @IsIn(['true', 'false'])
  force?: 'true' | 'false';
}

export function mapHost(host: HostRecord): HostResponse {
  const effective = effectiveSettings(host);
  return {
    id: host.id,
    name: host.name,
    paths: host.paths,
    excludes: host.excludes,
    status: host.status,
    // The enrollment secret is cleared when an agent uses it.
    enrolled: host.enrollmentSecretHash === null,
    lastSeenAt: host.lastSeenAt?.toISOString() ?? null,
    createdAt: host.createdAt.toISOString(),
    group: host.group?.name ?? null,
    paused: host.pausedAt !== null,
    schedule: host.schedule === null ? null : mapSchedule(host.schedule),
    effective: { ...effective, schedule: effective.schedule === null ? null : mapSchedule(effective.schedule) },
  };
}

export function mapCreatedHost(host: HostRecord, enrollmentSecret: string): CreateHostResponse {
  return { host: mapHost(host), enrollmentSecret };
}
