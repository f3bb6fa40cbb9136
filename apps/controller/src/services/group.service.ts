import { Injectable } from '@nestjs/common';
import { type GroupResponse } from '@berth/contracts';
import { type CreateGroupDto, mapGroup, type UpdateGroupDto } from '../dtos/group.dto';
import { DomainError } from '../errors/domain.error';
import { ErrorCode } from '../errors/error-code';
import { isUniqueViolation } from '../errors/prisma-errors';
import { type GroupChanges, type GroupRecord, GroupRepository } from '../repositories/group.repository';
import { isUuid } from '../utils/uuid.util';
import { ScheduleSyncService } from './schedule-sync.service';

@Injectable()
export class GroupService {
  constructor(
    private readonly groups: GroupRepository,
    private readonly scheduleSync: ScheduleSyncService,
  ) {}

  async create(dto: CreateGroupDto): Promise<GroupResponse> {
    let group: GroupRecord;
    try {
      group = await this.groups.create({ name: dto.name, paths: dto.paths ?? [], excludes: dto.excludes ?? [] });
    } catch (error) {
      if (isUniqueViolation(error)) throw new DomainError(ErrorCode.AlreadyExists, `Group "${dto.name}" already exists`);
      throw error;
    }
    await this.scheduleSync.apply({ groupId: group.id }, dto.schedule);
    return this.get(group.id);
  }

  async list(): Promise<GroupResponse[]> {
    return (await this.groups.list()).map(mapGroup);
  }

  async get(idOrName: string): Promise<GroupResponse> {
    return mapGroup(await this.findOrThrow(idOrName));
  }

  async update(idOrName: string, dto: UpdateGroupDto): Promise<GroupResponse> {
    const group = await this.findOrThrow(idOrName);
    const changes: GroupChanges = {};
    if (dto.paths !== undefined) changes.paths = dto.paths;
    if (dto.excludes !== undefined) changes.excludes = dto.excludes;
    if (Object.keys(changes).length > 0) await this.groups.update(group.id, changes);
    await this.scheduleSync.apply({ groupId: group.id }, dto.schedule);
    return this.get(group.id);
  }

  async setPaused(idOrName: string, paused: boolean): Promise<GroupResponse> {
    const group = await this.findOrThrow(idOrName);
    if (paused === (group.pausedAt !== null)) return mapGroup(group);
    return mapGroup(await this.groups.setPaused(group.id, paused ? new Date() : null));
  }

  private async findOrThrow(idOrName: string): Promise<GroupRecord> {
    const group = isUuid(idOrName) ? await this.groups.findById(idOrName) : await this.groups.findByName(idOrName);
    if (group === null) throw new DomainError(ErrorCode.GroupNotFound, `Group "${idOrName}" not found`);
    return group;
  }
}
