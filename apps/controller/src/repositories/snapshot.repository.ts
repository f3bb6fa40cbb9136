import { Injectable } from '@nestjs/common';
import { type Prisma } from '../generated/prisma/client';
import { DatabaseRepository } from './database.repository';

const SNAPSHOT_INCLUDE = { host: { select: { name: true } } } as const;

export type SnapshotRecord = Prisma.SnapshotGetPayload<{ include: typeof SNAPSHOT_INCLUDE }>;

@Injectable()
export class SnapshotRepository {
  constructor(private readonly database: DatabaseRepository) {}

  findById(id: string): Promise<SnapshotRecord | null> {
    return this.database.client.snapshot.findUnique({ where: { id }, include: SNAPSHOT_INCLUDE });
  }

  listByHost(hostId: string): Promise<SnapshotRecord[]> {
    return this.database.client.snapshot.findMany({ where: { hostId }, orderBy: [{ publishedAt: 'desc' }, { id: 'desc' }], include: SNAPSHOT_INCLUDE });
  }
}
