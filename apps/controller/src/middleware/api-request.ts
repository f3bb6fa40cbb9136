import { type ExecutionContext } from '@nestjs/common';
import { parseCookies, TOKEN_COOKIE } from './browser-session.util';
import { type NewAuditEvent } from '../repositories/audit.repository';
import { type Principal } from '../services/api-token.service';

/** The parts of Express' request the auth guard and the audit trail use. */
export interface ApiRequest {
  readonly method: string;
  readonly originalUrl: string;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly params?: Record<string, string>;
  readonly route?: { readonly path?: string };
  readonly ip?: string;
  principal?: Principal;
}

/** Methods that change nothing: they need the viewer role by default and are not audited. */
export const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

/** "HostController" + "backup" -> "host.backup": stable as long as handlers keep their names. */
export function auditAction(context: ExecutionContext): string {
  const controller = context.getClass().name.replace(/Controller$/, '');
  return `${controller.charAt(0).toLowerCase()}${controller.slice(1)}.${context.getHandler().name}`;
}

export function auditEvent(context: ExecutionContext, request: ApiRequest, principal: Principal, statusCode: number): NewAuditEvent {
  const params = Object.values(request.params ?? {});
  return {
    tokenId: principal.tokenId,
    actor: principal.name,
    role: principal.role,
    method: request.method,
    route: request.route?.path ?? request.originalUrl.split('?')[0] ?? request.originalUrl,
    path: request.originalUrl.slice(0, 2_000),
    action: auditAction(context),
    target: params[0]?.slice(0, 300) ?? null,
    statusCode,
    remoteAddr: request.ip ?? null,
  };
}

/** The API token of the `berth_token` cookie (set by a browser sign-in), or null. */
export function cookieToken(header: string | string[] | undefined): string | null {
  if (typeof header !== 'string') return null;
  const token = parseCookies(header).get(TOKEN_COOKIE);
  return token === undefined || token === '' ? null : token;
}
