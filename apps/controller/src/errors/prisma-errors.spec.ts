import { Prisma } from '../generated/prisma/client';
import { toApiErrorBody } from './api-exception.filter';
import { isDatabaseUnavailable, isUniqueViolation } from './prisma-errors';

const clientVersion = Prisma.prismaVersion.client;

/** A request error as Prisma raises it through the PostgreSQL driver adapter (shapes seen on a real server). */
function known(code: string, cause?: Record<string, unknown>): Prisma.PrismaClientKnownRequestError {
  const meta = cause === undefined ? undefined : { driverAdapterError: { name: 'DriverAdapterError', cause } };
  return new Prisma.PrismaClientKnownRequestError(`failed (${code})`, { code, clientVersion, ...(meta ? { meta } : {}) });
}

describe('isDatabaseUnavailable', () => {
  it('recognises a server that is down, restarting, unreachable or refusing the controller', () => {
    const unavailable = [
      // A model query against a closed port.
      known('P1001', { kind: 'DatabaseNotReachable', host: '127.0.0.1', port: 1 }),
      // The same under $queryRaw: "Raw query failed", the adapter's cause says why.
      known('P2010', { kind: 'DatabaseNotReachable', host: '127.0.0.1', port: 1 }),
      // A fast shutdown ends the running statement; a starting or recovering server refuses connections.
      known('P2010', { kind: 'postgres', code: '57P01', severity: 'FATAL', message: 'terminating connection due to administrator command' }),
      known('P2010', { kind: 'postgres', code: '57P03', severity: 'FATAL', message: 'the database system is not yet accepting connections' }),
      known('P2010', { kind: 'postgres', code: '08006', severity: 'FATAL', message: 'connection failure' }),
      known('P2010', { kind: 'ConnectionClosed' }),
      known('P2010', { kind: 'TooManyConnections', cause: 'sorry, too many clients already' }),
      known('P2010', { kind: 'DatabaseDoesNotExist', db: 'berth' }),
      known('P1017'),
      known('P2024'),
      new Prisma.PrismaClientInitializationError("Can't reach database server", clientVersion),
      // node-postgres' own error when the server dies under a query, or a connect times out: it arrives unwrapped.
      new Error('Connection terminated unexpectedly'),
      new Error('Connection terminated due to connection timeout'),
    ];
    for (const error of unavailable) expect({ error: error.message, unavailable: isDatabaseUnavailable(error) }).toEqual({ error: error.message, unavailable: true });
  });

  it('leaves failures of the statement itself alone', () => {
    const statementFailures = [
      known('P2002', { kind: 'UniqueConstraintViolation', constraint: { fields: ['name'] } }),
      known('P2025'),
      known('P2010', { kind: 'postgres', code: '42601', severity: 'ERROR', message: 'syntax error at or near "SELEC"' }),
      known('P2010', { kind: 'postgres', code: '40P01', severity: 'ERROR', message: 'deadlock detected' }),
      known('P2010'),
      new Error('Connection to Redis lost'),
      'Connection terminated unexpectedly',
      null,
    ];
    for (const error of statementFailures) expect({ error: String(error), unavailable: isDatabaseUnavailable(error) }).toEqual({ error: String(error), unavailable: false });
  });

  it('answers 503 database_unavailable for such a failure, and still 409 for a unique violation', () => {
    expect(toApiErrorBody(known('P2010', { kind: 'DatabaseNotReachable', host: '127.0.0.1', port: 1 }))).toEqual({
      statusCode: 503,
      code: 'database_unavailable',
      message: "The controller's database is unavailable; try again shortly",
    });
    const duplicate = known('P2002', { kind: 'UniqueConstraintViolation' });
    expect(isUniqueViolation(duplicate)).toBe(true);
    expect(toApiErrorBody(duplicate)).toMatchObject({ statusCode: 409, code: 'already_exists' });
    expect(toApiErrorBody(known('P2010', { kind: 'postgres', code: '42601' }))).toMatchObject({ statusCode: 500, code: 'internal_error' });
  });
});
