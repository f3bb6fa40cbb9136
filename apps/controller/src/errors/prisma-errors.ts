import { Prisma } from '../generated/prisma/client';

/** A unique constraint refused the write (Prisma P2002). */
export function isUniqueViolation(error: unknown): boolean {
  return error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002';
}

/**
 * Prisma's codes for a database it cannot use: unreachable (P1001), connect or operation timed out (P1002, P1008),
 * the server closed the connection (P1017), no pooled connection in time (P2024).
 */
const UNAVAILABLE_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024']);

/**
 * What the PostgreSQL driver adapter calls a server the controller cannot use at all, whatever the statement: it is
 * unreachable, closed the connection, timed out, is full, or refuses the controller's database, user or TLS.
 */
const UNAVAILABLE_ADAPTER_KINDS = new Set([
  'DatabaseNotReachable',
  'ConnectionClosed',
  'SocketTimeout',
  'TooManyConnections',
  'DatabaseDoesNotExist',
  'DatabaseAccessDenied',
  'AuthenticationFailed',
  'TlsConnectionError',
]);

/**
 * SQLSTATE classes of a server that is going away or not up yet: 08 (connection exception) and 57P (operator
 * intervention: 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now while it starts or recovers).
 */
const UNAVAILABLE_SQLSTATE = /^(08|57P)/;

/**
 * node-postgres' own errors for a connection that broke under a query or timed out while connecting ("Connection
 * terminated unexpectedly", "Connection terminated due to connection timeout"); they reach us unwrapped.
 */
const PG_CONNECTION_TERMINATED = /^Connection terminated\b/;

/**
 * Whether a failed statement failed because PostgreSQL was unavailable (down, restarting, unreachable, refusing the
 * controller) rather than because of the statement: such a request can succeed when tried again later.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (error instanceof Prisma.PrismaClientInitializationError) return true;
  if (error instanceof Prisma.PrismaClientKnownRequestError) {
    if (UNAVAILABLE_CODES.has(error.code)) return true;
    const cause = adapterCause(error.meta);
    if (cause === null) return false;
    if (typeof cause['kind'] === 'string' && UNAVAILABLE_ADAPTER_KINDS.has(cause['kind'])) return true;
    return cause['kind'] === 'postgres' && typeof cause['code'] === 'string' && UNAVAILABLE_SQLSTATE.test(cause['code']);
  }
  return error instanceof Error && PG_CONNECTION_TERMINATED.test(error.message);
}

/** The driver adapter's description of the failure (`meta.driverAdapterError.cause`), when Prisma passes one on. */
function adapterCause(meta: Record<string, unknown> | undefined): Record<string, unknown> | null {
  const adapterError = meta?.['driverAdapterError'];
  if (typeof adapterError !== 'object' || adapterError === null || !('cause' in adapterError)) return null;
  const cause = adapterError.cause;
  return typeof cause === 'object' && cause !== null ? (cause as Record<string, unknown>) : null;
}
