import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { type ApiRole, roleIncludes } from '@berth/contracts';
import { DomainError } from '../errors/domain.error';
import { ErrorCode } from '../errors/error-code';
import { ApiTokenService } from '../services/api-token.service';
import { AuditService } from '../services/audit.service';
import { type ApiRequest, auditEvent, cookieToken, SAFE_METHODS } from './api-request';
import { AUTH_METADATA, type RouteAuth } from './auth.decorators';
import { bearerToken } from './bearer-token.util';

/**
 * Global guard of the operator API: a valid API token whose role covers the route. Agent and receiver routes
 * (`@ServiceRoute`) have their own guards; `@Public` routes need nothing. Denied state-changing calls are audited.
 */
@Injectable()
export class ApiAuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: ApiTokenService,
    private readonly audit: AuditService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const auth = this.reflector.getAllAndOverride<RouteAuth | undefined>(AUTH_METADATA, [context.getHandler(), context.getClass()]);
    if (auth?.kind === 'public' || auth?.kind === 'service') return true;

    const request = context.switchToHttp().getRequest<ApiRequest>();
    const safe = SAFE_METHODS.has(request.method);
    const required: ApiRole = auth?.kind === 'role' ? auth.role : safe ? 'viewer' : 'operator';
    // The cookie only ever reads: a cross-site form could send it, so it never authorises a change.
    const token = bearerToken(request.headers['authorization']) ?? (safe ? cookieToken(request.headers['cookie']) : null);
    const principal = await this.tokens.authenticate(token);
    request.principal = principal;
    if (!roleIncludes(principal.role, required)) {
      if (!safe) await this.audit.record(auditEvent(context, request, principal, 403));
      throw new DomainError(ErrorCode.Forbidden, `This call needs the ${required} role; token "${principal.name}" has ${principal.role}`);
    }
    return true;
  }
}
