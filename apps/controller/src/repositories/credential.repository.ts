import { Injectable } from '@nestjs/common';
import { type AgentCredential } from '../generated/prisma/client';
import { DatabaseRepository } from './database.repository';

/** An unrevoked credential as authentication needs it. */
export interface ActiveCredential {
  id: string;
  hostId: string;
  lastUsedAt: Date | null;
  host: { name: string };
}

/** The secret hashes of a host's unrevoked credentials (what its Redis ACL user accepts as passwords). */
export interface HostCredentialHashes {
  hostId: string;
  activeHashes: string[];
}

@Injectable()
export class CredentialRepository {
  constructor(private readonly database: DatabaseRepository) {}

  /**
   * The credential with this hash, unless it has been revoked, with its host's name: what every agent request and
   * every receiver session check asks first, in one statement (Prisma's include would take a second one).
   */
  async findActiveBySecretHash(secretHash: string): Promise<ActiveCredential | null> {
    const [row] = await this.database.client.$queryRaw<{ id: string; host_id: string; last_used_at: Date | null; host_name: string }[]>`
      SELECT c.id::text AS id, c.host_id::text AS host_id, c.last_used_at, h.name AS host_name
      FROM agent_credentials c JOIN hosts h ON h.id = c.host_id
      WHERE c.secret_hash = ${secretHash} AND c.revoked_at IS NULL
      LIMIT 1`;
    return row === undefined ? null : { id: row.id, hostId: row.host_id, lastUsedAt: row.last_used_at, host: { name: row.host_name } };
  }

  /** The credential with this hash, revoked or not (to tell a revoked credential from an unknown one). */
  findBySecretHash(secretHash: string): Promise<AgentCredential | null> {
    return this.database.client.agentCredential.findUnique({ where: { secretHash } });
  }

  findById(id: string): Promise<AgentCredential | null> {
    return this.database.client.agentCredential.findUnique({ where: { id } });
  }

  listForHost(hostId: string): Promise<AgentCredential[]> {
    return this.database.client.agentCredential.findMany({ where: { hostId }, orderBy: { createdAt: 'asc' } });
  }

  /** Of these ids, the ones that are not an unrevoked credential (revoked, or gone with their host). */
  async invalidAmong(ids: readonly string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const active = await this.database.client.agentCredential.findMany({ where: { id: { in: [...ids] }, revokedAt: null }, select: { id: true } });
    const valid = new Set(active.map((credential) => credential.id));
    return ids.filter((id) => !valid.has(id));
  }

  /** Revokes the host's unrevoked credentials (only `credentialId` when given); returns those it revoked. */
  revoke(hostId: string, at: Date, credentialId?: string): Promise<AgentCredential[]> {
    return this.database.client.$transaction(async (tx) => {
      const where = { hostId, revokedAt: null, ...(credentialId === undefined ? {} : { id: credentialId }) };
      const targets = await tx.agentCredential.findMany({ where, orderBy: { createdAt: 'asc' } });
      if (targets.length === 0) return [];
      await tx.agentCredential.updateMany({ where: { id: { in: targets.map((credential) => credential.id) }, revokedAt: null }, data: { revokedAt: at } });
      return targets.map((credential) => ({ ...credential, revokedAt: at }));
    });
  }

  /** The unrevoked credential hashes of one host. */
  async activeHashes(hostId: string): Promise<string[]> {
    const rows = await this.database.client.agentCredential.findMany({ where: { hostId, revokedAt: null }, select: { secretHash: true }, orderBy: { createdAt: 'asc' } });
    return rows.map((row) => row.secretHash);
  }

  /** Every host that ever had a credential, with the hashes of its unrevoked ones (possibly none). */
  async allHostHashes(): Promise<HostCredentialHashes[]> {
    const rows = await this.database.client.agentCredential.findMany({ select: { hostId: true, secretHash: true, revokedAt: true }, orderBy: { createdAt: 'asc' } });
    const byHost = new Map<string, string[]>();
    for (const row of rows) {
      const hashes = byHost.get(row.hostId) ?? [];
      if (row.revokedAt === null) hashes.push(row.secretHash);
      byHost.set(row.hostId, hashes);
    }
    return [...byHost].map(([hostId, activeHashes]) => ({ hostId, activeHashes }));
  }

  async touch(id: string, at: Date): Promise<void> {
    await this.database.client.agentCredential.update({ where: { id }, data: { lastUsedAt: at } });
  }
}
