import { Injectable } from '@nestjs/common';
import { ControllerConfig } from '../config/controller-config';
import { type ApiRole } from '../generated/prisma/enums';
import { constantTimeEquals } from '../utils/secret.util';

/** Who an API token belongs to, as far as a browser session needs it. */
export interface ResolvedToken {
  readonly role: ApiRole;
}

/** Resolves a presented API token to its role, or null when it is unknown, revoked or expired. */
export abstract class TokenResolver {
  abstract resolveToken(token: string): Promise<ResolvedToken | null>;
}

/** Interim: only the bootstrap admin token (BERTH_ADMIN_TOKEN) until the API token service is wired in. */
@Injectable()
export class BootstrapTokenResolver extends TokenResolver {
  constructor(private readonly config: ControllerConfig) {
    super();
  }

  resolveToken(token: string): Promise<ResolvedToken | null> {
    const admin = this.config.adminToken;
    return Promise.resolve(admin !== null && constantTimeEquals(token, admin) ? { role: 'admin' } : null);
  }
}
