/** Operator API roles, weakest first: each role may do everything the ones before it may. */
export const API_ROLES = ['viewer', 'operator', 'admin'] as const;
export type ApiRole = (typeof API_ROLES)[number];

/** True when `role` includes the rights of `required`. */
export function roleIncludes(role: ApiRole, required: ApiRole): boolean {
  return API_ROLES.indexOf(role) >= API_ROLES.indexOf(required);
}

/** API tokens start with this, so a leaked one is recognisable (and greppable in logs). */
export const API_TOKEN_PREFIX = 'bt_';

export interface CreateTokenRequest {
  name: string;
  role: ApiRole;
  /** Days until the token stops working; absent: it works until revoked. */
  expiresInDays?: number;
}

export interface TokenResponse {
  id: string;
  name: string;
  role: ApiRole;
  /** The token's first characters, to tell tokens apart; never the whole token. */
  prefix: string;
  createdAt: string;
  /** Name of the token that created this one; null for the bootstrap token. */
  createdBy: string | null;
  lastUsedAt: string | null;
  expiresAt: string | null;
  revokedAt: string | null;
}

/** The only answer that ever holds the token itself. */
export interface CreateTokenResponse extends TokenResponse {
  token: string;
}

/** GET /auth/whoami: the caller's token. */
export interface WhoAmIResponse {
  tokenId: string;
  name: string;
  role: ApiRole;
}

export interface AuditEventResponse {
  id: string;
  at: string;
  /** Name of the token that made the call (or the agent's host, for enrollment). */
  actor: string;
  tokenId: string | null;
  role: ApiRole | null;
  method: string;
  route: string;
  path: string;
  action: string;
  target: string | null;
  statusCode: number;
  remoteAddr: string | null;
}

export interface AuditPage {
  events: AuditEventResponse[];
  /** Pass as `?before=` for the next (older) page; null on the last page. */
  nextBefore: string | null;
}
