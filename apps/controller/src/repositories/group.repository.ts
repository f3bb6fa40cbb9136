import { Injectable } from '@nestjs/common';
import { type Prisma } from '../generated/prisma/client';
import { DatabaseRepository } from './database.repository';

const GROUP_INCLUDE = { schedule: true, hosts: { select: { name: true }, orderBy: { name: 'asc' } } } as const satisfies Prisma.HostGroupInclude;
export type GroupRecord = Prisma.HostGroupGetPayload<{ include: typeof GROUP_INCLUDE }>;

export interface GroupChanges {
  paths?: string[];
  excludes?: string[];
}

@Injectable()
export class GroupRepository {
  constructor(private readonly database: DatabaseRepository) {}

  create(group: { name: string; paths: string[]; excludes: string[] }): Promise<GroupRecord> {
    return this.database.client.hostGroup.create({ data: group, include: GROUP_INCLUDE });
  }

  findById(id: string): Promise<GroupRecord | null> {
    return this.database.client.hostGroup.findUnique({ where: { id }, include: GROUP_INCLUDE });
  }

  findByName(name: string): Promise<GroupRecord | null> {
    return this.database.client.hostGroup.findUnique({ where: { name }, include: GROUP_INCLUDE });
  }

  list(): Promise<GroupRecord[]> {
    return this.database.client.hostGroup.findMany({ orderBy: { name: 'asc' }, include: GROUP_INCLUDE });
  }

  update(id: string, changes: GroupChanges): Promise<GroupRecord> {
    return this.database.client.hostGroup.update({ where: { id }, data: changes, include: GROUP_INCLUDE });
  }

  setPaused(id: string, pausedAt: Date | null): Promise<GroupRecord> {
    return this.database.client.hostGroup.update({ where: { id }, data: { pausedAt }, include: GROUP_INCLUDE });
  }
}
