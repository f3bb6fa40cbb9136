import { Injectable } from '@nestjs/common';
import { type AgentCredential, type Host, Prisma } from '../generated/prisma/client';
import { DatabaseRepository } from './database.repository';

/** What a host's API representation and its effective settings need: its group (with its schedule) and its own schedule. */
export const HOST_INCLUDE = { group: { include: { schedule: true } }, schedule: true } as const satisfies Prisma.HostInclude;
export type HostRecord = Prisma.HostGetPayload<{ include: typeof HOST_INCLUDE }>;

export interface NewHost {
  name: string;
  paths: string[];
  excludes: string[];
  enrollmentSecretHash: string;
  groupId?: string;
}

/** What triggering a backup reads of a host: who it is, and what decides its paths, excludes and pausing. */
export interface BackupSource {
  id: string;
  name: string;
  paths: string[];
  excludes: string[];
  pausedAt: Date | null;
  group: { paths: string[]; excludes: string[]; pausedAt: Date | null } | null;
}

interface BackupSourceRow {
  id: string;
  name: string;
  paths: string[];
  excludes: string[];
  paused_at: Date | null;
  grouped: boolean;
  group_paths: string[] | null;
  group_excludes: string[] | null;
  group_paused_at: Date | null;
}

export interface HostChanges {
  paths?: string[];
  excludes?: string[];
  groupId?: string | null;
}

@Injectable()
export class HostRepository {
  constructor(private readonly database: DatabaseRepository) {}

  create(host: NewHost): Promise<HostRecord> {
    return this.database.client.host.create({ data: host, include: HOST_INCLUDE });
  }

  /**
   * A host as triggering a backup needs it, in one statement by id or by name (findById's include costs three round
   * trips in sequence: the host, its group and schedule, the group's schedule; a trigger waits for them before
   * its job is queued).
   */
  async findBackupSource(idOrName: string, byId: boolean): Promise<BackupSource | null> {
    const match = byId ? Prisma.sql`h.id = ${idOrName}::uuid` : Prisma.sql`h.name = ${idOrName}`;
    const [row] = await this.database.client.$queryRaw<BackupSourceRow[]>`
      SELECT h.id::text AS id, h.name, h.paths, h.excludes, h.paused_at, g.id IS NOT NULL AS grouped,
             g.paths AS group_paths, g.excludes AS group_excludes, g.paused_at AS group_paused_at
      FROM hosts h LEFT JOIN host_groups g ON g.id = h.group_id WHERE ${match}`;
    if (row === undefined) return null;
    return {
      id: row.id,
      name: row.name,
      paths: row.paths,
      excludes: row.excludes,
      pausedAt: row.paused_at,
      group: row.grouped ? { paths: row.group_paths ?? [], excludes: row.group_excludes ?? [], pausedAt: row.group_paused_at } : null,
    };
  }

  findById(id: string): Promise<HostRecord | null> {
    return this.database.client.host.findUnique({ where: { id }, include: HOST_INCLUDE });
  }

  findByName(name: string): Promise<HostRecord | null> {
    return this.database.client.host.findUnique({ where: { name }, include: HOST_INCLUDE });
  }

  list(): Promise<HostRecord[]> {
    return this.database.client.host.findMany({ orderBy: { name: 'asc' }, include: HOST_INCLUDE });
  }

  listByIds(ids: string[]): Promise<HostRecord[]> {
    return this.database.client.host.findMany({ where: { id: { in: ids } }, orderBy: { name: 'asc' }, include: HOST_INCLUDE });
  }

  update(id: string, changes: HostChanges): Promise<HostRecord> {
    return this.database.client.host.update({ where: { id }, data: changes, include: HOST_INCLUDE });
  }

  setPaused(id: string, pausedAt: Date | null): Promise<HostRecord> {
    return this.database.client.host.update({ where: { id }, data: { pausedAt }, include: HOST_INCLUDE });
  }

  /** A new one-time enrollment secret (replacing an unused one): the host's next agent enrolls with it. */
  setEnrollmentSecret(id: string, enrollmentSecretHash: string): Promise<HostRecord> {
    return this.database.client.host.update({ where: { id }, data: { enrollmentSecretHash }, include: HOST_INCLUDE });
  }

  markSeen(id: string, at: Date): Promise<Host> {
    return this.database.client.host.update({ where: { id }, data: { lastSeenAt: at, status: 'online' } });
  }

  /** Online hosts whose agent was last heard of before `silentSince` become offline; returns their names. */
  async markOffline(silentSince: Date): Promise<string[]> {
    const hosts = await this.database.client.$queryRaw<{ name: string }[]>`
      UPDATE hosts SET status = 'offline', updated_at = now()
      WHERE status = 'online' AND (last_seen_at IS NULL OR last_seen_at < ${silentSince})
      RETURNING name`;
    return hosts.map((host) => host.name);
  }

  /**
   * Exchanges a one-time enrollment secret for a new credential, atomically: the secret is cleared in the same
   * transaction, and only if it is still set, so two concurrent enrollments cannot both succeed.
   */
  enroll(enrollmentSecretHash: string, credentialHash: string): Promise<{ host: Host; credential: AgentCredential } | null> {
    return this.database.client.$transaction(async (tx) => {
      const host = await tx.host.findUnique({ where: { enrollmentSecretHash } });
      if (host === null) return null;
      const { count } = await tx.host.updateMany({ where: { id: host.id, enrollmentSecretHash }, data: { enrollmentSecretHash: null } });
      if (count !== 1) return null;
      const credential = await tx.agentCredential.create({ data: { hostId: host.id, secretHash: credentialHash } });
      return { host: { ...host, enrollmentSecretHash: null }, credential };
    });
  }
}
