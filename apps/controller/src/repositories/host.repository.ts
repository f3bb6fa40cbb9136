import { Injectable } from '@nestjs/common';
import { type AgentCredential, type Host } from '../generated/prisma/client';
import { DatabaseRepository } from './database.repository';

export interface NewHost {
  name: string;
  paths: string[];
  excludes: string[];
  enrollmentSecretHash: string;
}

@Injectable()
export class HostRepository {
  constructor(private readonly database: DatabaseRepository) {}

  create(host: NewHost): Promise<Host> {
    return this.database.client.host.create({ data: host });
  }

  findById(id: string): Promise<Host | null> {
    return this.database.client.host.findUnique({ where: { id } });
  }

  findByName(name: string): Promise<Host | null> {
    return this.database.client.host.findUnique({ where: { name } });
  }

  list(): Promise<Host[]> {
    return this.database.client.host.findMany({ orderBy: { name: 'asc' } });
  }

  markSeen(id: string, at: Date): Promise<Host> {
    return this.database.client.host.update({ where: { id }, data: { lastSeenAt: at, status: 'online' } });
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
