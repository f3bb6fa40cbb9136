import { type CreateGroupRequest, type GroupResponse, type ScheduleRequest, type UpdateGroupRequest } from '@berth/contracts';
import { IsOptional, ValidateIf } from 'class-validator';
import { type GroupRecord } from '../repositories/group.repository';
import { HOST_PATHS_MAX } from './host.dto';
import { IsScheduleRequest, mapSchedule } from './schedule.dto';
import { IsAbsolutePathList, IsExcludeList, IsHostName } from './validation';

export class CreateGroupDto implements CreateGroupRequest {
  /** Group names follow the host name rule (never UUID-shaped: groups are addressed by id or name too). */
  @IsHostName()
  name!: string;

  @IsOptional()
  @IsAbsolutePathList({ min: 0, max: HOST_PATHS_MAX })
  paths?: string[];

  @IsOptional()
  @IsExcludeList()
  excludes?: string[];

  @ValidateIf((dto: CreateGroupDto) => dto.schedule !== undefined)
  @IsScheduleRequest()
  schedule?: ScheduleRequest;
}

export class UpdateGroupDto implements UpdateGroupRequest {
  @IsOptional()
  @IsAbsolutePathList({ min: 0, max: HOST_PATHS_MAX })
  paths?: string[];

  @IsOptional()
  @IsExcludeList()
  excludes?: string[];

  @ValidateIf((dto: UpdateGroupDto) => dto.schedule !== undefined)
  @IsScheduleRequest()
  schedule?: ScheduleRequest | null;
}

export function mapGroup(group: GroupRecord): GroupResponse {
  return {
    id: group.id,
    name: group.name,
    paths: group.paths,
    excludes: group.excludes,
    paused: group.pausedAt !== null,
    schedule: group.schedule === null ? null : mapSchedule(group.schedule),
    hosts: group.hosts.map((host) => host.name),
    createdAt: group.createdAt.toISOString(),
  };
}
