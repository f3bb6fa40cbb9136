import { Prisma } from '../generated/prisma/client';

/** A unique constraint refused the write (Prisma P2002). */
export function isUniqueViolation(error: unknown): boolean {
  return error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002';
}

/**
 * Why a statement failed when the cause is PostgreSQL itself rather than the statement:
 * - `unavailable`: down, restarting, unreachable, full or too slow to give a connection; trying again later can work;
 * - `refused`: it answers but refuses the controller (no such database, access denied, failed authentication or TLS):
 *   the controller's configuration or the server's must change first.
 */
export type DatabaseFailure = 'unavailable' | 'refused';

/**
 * Prisma's codes for a database it cannot use: unreachable (P1001), connect or operation timed out (P1002, P1008),
 * the server closed the connection (P1017), no pooled connection in time (P2024).
 */
const UNAVAILABLE_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024']);
/** ... and for one that refuses the controller: no such database (P1003), access denied (P1010), TLS failed (P1011). */
const REFUSED_CODES = new Set(['P1003', 'P1010', 'P1011']);

/** The PostgreSQL driver adapter's names for the same (`meta.driverAdapterError.cause.kind`). */
const UNAVAILABLE_ADAPTER_KINDS = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections']);
const REFUSED_ADAPTER_KINDS = new Set(['DatabaseDoesNotExist', 'DatabaseAccessDenied', 'AuthenticationFailed', 'TlsConnectionError']);

/**
 * SQLSTATEs of a connection that failed or of a server going away or not up yet: class 08 but 08P01 (a protocol
 * violation is the statement's own failure), and 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now
 * (starting or recovering).
 */
const UNAVAILABLE_SQLSTATES = new Set(['08000', '08001', '08003', '08004', '08006', '08007', '57P01', '57P02', '57P03']);

/**
 * node-postgres' own errors for a connection that broke under a query or timed out while connecting ("Connection
 * terminated unexpectedly", "Connection terminated due to connection timeout"), and pg-pool's for a checkout that
 * waited longer than the connect timeout ("timeout exceeded when trying to connect"): they reach us unwrapped.
 */
const PG_CONNECTION_LOST = /^(Connection terminated\b|timeout exceeded when trying to connect$)/;

/** Prisma's interactive transaction could not get a connection within its wait (P2028 also names other misuses). */
const TRANSACTION_NOT_STARTED = /Unable to start a transaction in the given time/;

/** Whether PostgreSQL itself made the statement fail (see DatabaseFailure), or null when the statement did. */
export function databaseFailure(error: unknown): DatabaseFailure | null {
  if (error instanceof Prisma.PrismaClientInitializationError) return 'unavailable';
  if (error instanceof Prisma.PrismaClientKnownRequestError) {
    if (UNAVAILABLE_CODES.has(error.code)) return 'unavailable';
    if (REFUSED_CODES.has(error.code)) return 'refused';
    if (error.code === 'P2028') return TRANSACTION_NOT_STARTED.test(error.message) ? 'unavailable' : null;
    const cause = adapterCause(error.meta);
    if (cause === null) return null;
    const kind = cause['kind'];
    if (typeof kind === 'string' && UNAVAILABLE_ADAPTER_KINDS.has(kind)) return 'unavailable';
    if (typeof kind === 'string' && REFUSED_ADAPTER_KINDS.has(kind)) return 'refused';
    return kind === 'postgres' && typeof cause['code'] === 'string' && UNAVAILABLE_SQLSTATES.has(cause['code']) ? 'unavailable' : null;
  }
  return error instanceof Error && PG_CONNECTION_LOST.test(error.message) ? 'unavailable' : null;
}

/** The driver adapter's description of the failure (`meta.driverAdapterError.cause`), when Prisma passes one on. */
function adapterCause(meta: Record<string, unknown> | undefined): Record<string, unknown> | null {
  const adapterError = meta?.['driverAdapterError'];
  if (typeof adapterError !== 'object' || adapterError === null || !('cause' in adapterError)) return null;
  const cause = adapterError.cause;
  return typeof cause === 'object' && cause !== null ? (cause as Record<string, unknown>) : null;
}
