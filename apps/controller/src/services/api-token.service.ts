import { Injectable, Logger } from '@nestjs/common';
import { type CreateTokenResponse, type TokenResponse, type WhoAmIResponse } from '@berth/contracts';
import { ControllerConfig } from '../config/controller-config';
import { mapToken } from '../dtos/token.dto';
import { DomainError } from '../errors/domain.error';
import { ErrorCode } from '../errors/error-code';
import { type ApiRole, type ApiToken } from '../generated/prisma/client';
import { ApiTokenRepository, BOOTSTRAP_TOKEN_NAME } from '../repositories/api-token.repository';
import { generateApiToken, hashSecret, tokenDisplayPrefix } from '../utils/secret.util';
import { isUuid } from '../utils/uuid.util';

/** Who made an operator API call: the token's id, name and role. */
export interface Principal {
  readonly tokenId: string;
  readonly name: string;
  readonly role: ApiRole;
}

/** lastUsedAt is refreshed at most this often per token. */
const LAST_USED_GRANULARITY_MS = 60_000;
const DAY_MS = 86_400_000;

@Injectable()
export class ApiTokenService {
  private readonly logger = new Logger(ApiTokenService.name);
  /** SHA-256 of BERTH_ADMIN_TOKEN, or null. */
  private readonly bootstrapHash: string | null;

  constructor(
    private readonly tokens: ApiTokenRepository,
    config: ControllerConfig,
  ) {
    this.bootstrapHash = config.adminToken === null ? null : hashSecret(config.adminToken);
  }

  /** The principal of a bearer token; a missing, unknown, revoked or expired token is refused with one reason. */
  async authenticate(token: string | null, now = new Date()): Promise<Principal> {
    if (token === null) throw new DomainError(ErrorCode.Unauthenticated, 'An API token is required: send Authorization: Bearer <token> (create one with `berth token create`)');
    const hash = hashSecret(token);
    const row = (await this.tokens.findBySecretHash(hash)) ?? (hash === this.bootstrapHash ? await this.bootstrap(token, hash) : null);
    if (row === null) throw new DomainError(ErrorCode.Unauthenticated, 'Unknown API token');
    if (row.revokedAt !== null) throw new DomainError(ErrorCode.Unauthenticated, `API token "${row.name}" was revoked at ${row.revokedAt.toISOString()}`);
    if (row.expiresAt !== null && row.expiresAt.getTime() <= now.getTime()) throw new DomainError(ErrorCode.Unauthenticated, `API token "${row.name}" expired at ${row.expiresAt.toISOString()}`);
    // The row read says whether lastUsedAt is stale: a fresh one costs no write (the update re-checks it).
    if (row.lastUsedAt === null || now.getTime() - row.lastUsedAt.getTime() > LAST_USED_GRANULARITY_MS) {
      await this.tokens.touch(row.id, now, LAST_USED_GRANULARITY_MS);
    }
    return { tokenId: row.id, name: row.name, role: row.role };
  }

  /**
   * BERTH_ADMIN_TOKEN becomes the admin token "bootstrap" on its first use (not at boot: the controller starts
   * while PostgreSQL is down), so a fresh installation can be administered. Once revoked it stays refused.
   */
  private async bootstrap(token: string, secretHash: string): Promise<ApiToken> {
    const row = await this.tokens.ensure({ name: BOOTSTRAP_TOKEN_NAME, role: 'admin', secretHash, prefix: tokenDisplayPrefix(token), createdById: null, expiresAt: null });
    this.logger.log(`BERTH_ADMIN_TOKEN registered as the admin API token "${BOOTSTRAP_TOKEN_NAME}" (${row.prefix}...)`);
    return row;
  }

  whoAmI(principal: Principal): WhoAmIResponse {
    return { tokenId: principal.tokenId, name: principal.name, role: principal.role };
  }

  async create(request: { name: string; role: ApiRole; expiresInDays?: number | undefined }, creator: Principal, now = new Date()): Promise<CreateTokenResponse> {
    const token = generateApiToken();
    const row = await this.tokens.create({
      name: request.name,
      role: request.role,
      secretHash: hashSecret(token),
      prefix: tokenDisplayPrefix(token),
      createdById: creator.tokenId,
      expiresAt: request.expiresInDays === undefined ? null : new Date(now.getTime() + request.expiresInDays * DAY_MS),
    });
    return { ...mapToken({ ...row, createdByName: creator.name }), token };
  }

  async list(): Promise<TokenResponse[]> {
    return (await this.tokens.list()).map(mapToken);
  }

  /** Revoking takes effect on the next call made with the token: nothing caches tokens. */
  async revoke(id: string, now = new Date()): Promise<TokenResponse> {
    const row = isUuid(id) ? await this.tokens.revoke(id, now) : null;
    if (row === null) throw new DomainError(ErrorCode.TokenNotFound, `No API token with id ${id}; list tokens with \`berth token list\``);
    const creator = row.createdById === null ? null : await this.tokens.findById(row.createdById);
    return mapToken({ ...row, createdByName: creator?.name ?? null });
  }
}
