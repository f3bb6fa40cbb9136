import { SetMetadata } from '@nestjs/common';
import { type ApiRole } from '../generated/prisma/enums';

/**
 * How a route is authenticated. Every route of the operator API needs a bearer API token by default: GET and
 * HEAD need the viewer role, any other method the operator role; `@RequireRole` raises (or states) the minimum.
 */
export const AUTH_METADATA = 'berth:auth';

export type RouteAuth =
  /** No credential at all (only /healthz). */
  | { readonly kind: 'public' }
  /** Agents and the receiver: their own guard (agent credential, enrollment secret, receiver token) decides. */
  | { readonly kind: 'service' }
  | { readonly kind: 'role'; readonly role: ApiRole };

export const Public = (): ClassDecorator & MethodDecorator => SetMetadata(AUTH_METADATA, { kind: 'public' } satisfies RouteAuth);

export const ServiceRoute = (): ClassDecorator & MethodDecorator => SetMetadata(AUTH_METADATA, { kind: 'service' } satisfies RouteAuth);

export const RequireRole = (role: ApiRole): ClassDecorator & MethodDecorator => SetMetadata(AUTH_METADATA, { kind: 'role', role } satisfies RouteAuth);
