import { Injectable } from '@nestjs/common';
import { type CreateHostResponse, type HostResponse } from '@berth/contracts';
import { type CreateHostDto, mapCreatedHost, mapHost, type UpdateHostDto } from '../dtos/host.dto';
import { DomainError } from '../errors/domain.error';
import { ErrorCode } from '../errors/error-code';
import { isUniqueViolation } from '../errors/prisma-errors';
import { GroupRepository } from '../repositories/group.repository';
import { type BackupSource, type HostChanges, type HostRecord, HostRepository } from '../repositories/host.repository';
import { generateEnrollmentSecret, hashSecret } from '../utils/secret.util';
import { isUuid } from '../utils/uuid.util';
import { ScheduleSyncService } from './schedule-sync.service';

/** 404 for a host named by id or name. */
export function hostNotFound(idOrName: string): DomainError {
  return new DomainError(ErrorCode.HostNotFound, `Host "${idOrName}" not found`);
}

@Injectable()
export class HostService {
  constructor(
    private readonly hosts: HostRepository,
    private readonly groups: GroupRepository,
    private readonly scheduleSync: ScheduleSyncService,
  ) {}

  async create(dto: CreateHostDto): Promise<CreateHostResponse> {
    const groupId = dto.group === undefined ? undefined : await this.groupIdOf(dto.group);
    const enrollmentSecret = generateEnrollmentSecret();
    try {
      const host = await this.hosts.create({
        name: dto.name,
        paths: dto.paths ?? [],
        excludes: dto.excludes ?? [],
        enrollmentSecretHash: hashSecret(enrollmentSecret),
        ...(groupId === undefined ? {} : { groupId }),
      });
      return mapCreatedHost(host, enrollmentSecret);
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw new DomainError(ErrorCode.AlreadyExists, `Host "${dto.name}" already exists`);
      }
      throw error;
    }
  }

  async list(): Promise<HostResponse[]> {
    return (await this.hosts.list()).map(mapHost);
  }

  async get(idOrName: string): Promise<HostResponse> {
    return mapHost(await this.findOrThrow(idOrName));
  }

  /** Changes group, paths, excludes and the host's own schedule; absent fields stay as they are. */
  async update(idOrName: string, dto: UpdateHostDto): Promise<HostResponse> {
    const host = await this.findOrThrow(idOrName);
    const changes: HostChanges = {};
    if (dto.group !== undefined) changes.groupId = dto.group === null ? null : await this.groupIdOf(dto.group);
    if (dto.paths !== undefined) changes.paths = dto.paths;
    if (dto.excludes !== undefined) changes.excludes = dto.excludes;
    const nextGroup = changes.groupId === undefined ? host.groupId : changes.groupId;
    if (nextGroup === null && (changes.paths ?? host.paths).length === 0) {
      throw new DomainError(ErrorCode.ValidationFailed, `Host "${host.name}" would have no paths`, ['paths must contain 1 to 64 paths for a host without a group']);
    }
    if (Object.keys(changes).length > 0) await this.hosts.update(host.id, changes);
    await this.scheduleSync.apply({ hostId: host.id }, dto.schedule);
    return this.get(host.id);
  }

  async setPaused(idOrName: string, paused: boolean): Promise<HostResponse> {
    const host = await this.findOrThrow(idOrName);
    // Pausing again keeps the first pause time.
    if (paused === (host.pausedAt !== null)) return mapHost(host);
    return mapHost(await this.hosts.setPaused(host.id, paused ? new Date() : null));
  }

  /** What triggering a backup needs of a host (by id or by name), in one statement. */
  async findBackupSourceOrThrow(idOrName: string): Promise<BackupSource> {
    const host = await this.hosts.findBackupSource(idOrName, isUuid(idOrName));
    if (host === null) throw hostNotFound(idOrName);
    return host;
  }

  /** A host by id or by name (names are never UUID-shaped, so the form decides). */
  async findOrThrow(idOrName: string): Promise<HostRecord> {
    const host = isUuid(idOrName) ? await this.hosts.findById(idOrName) : await this.hosts.findByName(idOrName);
    if (host === null) throw hostNotFound(idOrName);
    return host;
  }

  private async groupIdOf(name: string): Promise<string> {
    const group = await this.groups.findByName(name);
    if (group === null) throw new DomainError(ErrorCode.GroupNotFound, `Group "${name}" not found; create it with POST /groups (berth group add)`);
    return group.id;
  }
}
