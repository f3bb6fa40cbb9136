import { Injectable } from '@nestjs/common';
import { isUniqueViolation } from '../errors/prisma-errors';
import { type ApiRole, type ApiToken } from '../generated/prisma/client';
import { DatabaseRepository } from './database.repository';

export type ApiTokenWithCreator = ApiToken & { createdByName: string | null };

export interface NewApiToken {
  readonly name: string;
  readonly role: ApiRole;
  readonly secretHash: string;
  readonly prefix: string;
  readonly createdById: string | null;
  readonly expiresAt: Date | null;
}

export const BOOTSTRAP_TOKEN_NAME = 'bootstrap';

@Injectable()
export class ApiTokenRepository {
  constructor(private readonly database: DatabaseRepository) {}

  findBySecretHash(secretHash: string): Promise<ApiToken | null> {
    return this.database.client.apiToken.findUnique({ where: { secretHash } });
  }

  findById(id: string): Promise<ApiToken | null> {
    return this.database.client.apiToken.findUnique({ where: { id } });
  }

  create(token: NewApiToken): Promise<ApiToken> {
    return this.database.client.apiToken.create({ data: token });
  }

  /**
   * The bootstrap admin token of BERTH_ADMIN_TOKEN, created once; concurrent requests and replicas agree through the
   * unique hash. Prisma's upsert reads, then inserts: of two that both read nothing, the second insert violates the
   * unique hash, and that one reads the row the first created.
   */
  async ensure(token: NewApiToken): Promise<ApiToken> {
    try {
      return await this.database.client.apiToken.upsert({ where: { secretHash: token.secretHash }, create: token, update: {} });
    } catch (error) {
      const created = isUniqueViolation(error) ? await this.findBySecretHash(token.secretHash) : null;
      if (created === null) throw error;
      return created;
    }
  }

  /** Newest first, with the name of each creator. */
  async list(): Promise<ApiTokenWithCreator[]> {
    const tokens = await this.database.client.apiToken.findMany({ orderBy: { createdAt: 'desc' } });
    const names = new Map(tokens.map((token) => [token.id, token.name]));
    return tokens.map((token) => ({ ...token, createdByName: token.createdById === null ? null : (names.get(token.createdById) ?? null) }));
  }

  /** Revokes the token unless it already is; returns the row either way, null when there is none. */
  async revoke(id: string, at: Date): Promise<ApiToken | null> {
    await this.database.client.apiToken.updateMany({ where: { id, revokedAt: null }, data: { revokedAt: at } });
    return this.findById(id);
  }

  /** Records use at most once per `granularityMs`, so reads do not each cost a write. */
  async touch(id: string, at: Date, granularityMs: number): Promise<void> {
    await this.database.client.apiToken.updateMany({
      where: { id, OR: [{ lastUsedAt: null }, { lastUsedAt: { lt: new Date(at.getTime() - granularityMs) } }] },
      data: { lastUsedAt: at },
    });
  }
}
