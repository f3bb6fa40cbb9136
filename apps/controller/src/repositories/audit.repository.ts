import { Injectable } from '@nestjs/common';
import { type ApiRole, type AuditEvent, type Prisma } from '../generated/prisma/client';
import { DatabaseRepository } from './database.repository';

export interface NewAuditEvent {
  readonly tokenId: string | null;
  readonly actor: string;
  readonly role: ApiRole | null;
  readonly method: string;
  readonly route: string;
  readonly path: string;
  readonly action: string;
  readonly target: string | null;
  readonly statusCode: number;
  readonly remoteAddr: string | null;
}

export interface AuditFilter {
  readonly tokenId?: string;
  readonly actor?: string;
  readonly action?: string;
  readonly target?: string;
  readonly since?: Date;
  readonly until?: Date;
  /** Events with a smaller id than this (the previous page's last). */
  readonly before?: bigint;
  readonly limit: number;
}

@Injectable()
export class AuditRepository {
  constructor(private readonly database: DatabaseRepository) {}

  /**
   * One plain INSERT: every state-changing call of the API waits for it before it is answered, and the ORM's
   * create read the whole row back for nothing.
   */
  async record(event: NewAuditEvent): Promise<void> {
    await this.database.client.$executeRaw`
      INSERT INTO audit_events (at, token_id, actor, role, method, route, path, action, target, status_code, remote_addr)
      VALUES (${new Date()}::timestamp(3), ${event.tokenId}::uuid, ${event.actor}, ${event.role}::"ApiRole", ${event.method}, ${event.route},
              ${event.path}, ${event.action}, ${event.target}, ${event.statusCode}, ${event.remoteAddr})`;
  }

  /** Newest first. */
  find(filter: AuditFilter): Promise<AuditEvent[]> {
    const where: Prisma.AuditEventWhereInput = {};
    if (filter.tokenId !== undefined) where.tokenId = filter.tokenId;
    if (filter.actor !== undefined) where.actor = filter.actor;
    if (filter.action !== undefined) where.action = { startsWith: filter.action };
    if (filter.target !== undefined) where.target = filter.target;
    if (filter.since !== undefined || filter.until !== undefined) {
      where.at = { ...(filter.since !== undefined ? { gte: filter.since } : {}), ...(filter.until !== undefined ? { lt: filter.until } : {}) };
    }
    if (filter.before !== undefined) where.id = { lt: filter.before };
    return this.database.client.auditEvent.findMany({ where, orderBy: { id: 'desc' }, take: filter.limit });
  }

  /**
   * Deletes up to `batch` events recorded before `cutoff`, oldest first; returns how many went. In batches, so
   * the first pass over a large backlog does not hold one long transaction.
   */
  async deleteBefore(cutoff: Date, batch: number): Promise<number> {
    return this.database.client.$executeRaw`DELETE FROM audit_events WHERE id IN (SELECT id FROM audit_events WHERE at < ${cutoff} ORDER BY id LIMIT ${batch})`;
  }
}
