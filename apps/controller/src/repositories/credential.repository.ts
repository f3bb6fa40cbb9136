import { Injectable } from '@nestjs/common';
import { type AgentCredential, type Host } from '../generated/prisma/client';
import { DatabaseRepository } from './database.repository';

export type CredentialWithHost = AgentCredential & { host: Host };

@Injectable()
export class CredentialRepository {
  constructor(private readonly database: DatabaseRepository) {}

  /** The credential with this hash, unless it has been revoked. */
  findActiveBySecretHash(secretHash: string): Promise<CredentialWithHost | null> {
    return this.database.client.agentCredential.findFirst({ where: { secretHash, revokedAt: null }, include: { host: true } });
  }

  async touch(id: string, at: Date): Promise<void> {
    await this.database.client.agentCredential.update({ where: { id }, data: { lastUsedAt: at } });
  }
}
