import { Logger } from '@nestjs/common';
import { Prisma } from '../generated/prisma/client';
import { answerFailure, toApiErrorBody } from './api-exception.filter';
import { databaseFailure, isUniqueViolation } from './prisma-errors';

const clientVersion = Prisma.prismaVersion.client;

/** A request error as Prisma raises it through the PostgreSQL driver adapter (shapes seen on a real server). */
function known(code: string, cause?: Record<string, unknown>, message = `failed (${code})`): Prisma.PrismaClientKnownRequestError {
  const meta = cause === undefined ? undefined : { driverAdapterError: { name: 'DriverAdapterError', cause } };
  return new Prisma.PrismaClientKnownRequestError(message, { code, clientVersion, ...(meta ? { meta } : {}) });
}

/** A server-side error as the adapter passes it on: P2010 under $queryRaw, P2039 under a model query. */
function postgres(prismaCode: 'P2010' | 'P2039', sqlstate: string, message: string): Prisma.PrismaClientKnownRequestError {
  return known(prismaCode, { kind: 'postgres', code: sqlstate, originalCode: sqlstate, severity: 'FATAL', message, originalMessage: message });
}

function classify(errors: readonly unknown[]): { error: string; failure: string | null }[] {
  return errors.map((error) => ({ error: error instanceof Error ? `${error.constructor.name} ${error.message}` : String(error), failure: databaseFailure(error) }));
}

describe('databaseFailure', () => {
  it('finds a server that is down, restarting, unreachable, full or too slow to give a connection', () => {
    const unavailable = [
      // A model query against a closed port, and the same under $queryRaw ("Raw query failed": the cause says why).
      known('P1001', { kind: 'DatabaseNotReachable', host: '127.0.0.1', port: 1 }),
      known('P2010', { kind: 'DatabaseNotReachable', host: '127.0.0.1', port: 1 }),
      // A fast shutdown ends the running statement; a starting or recovering server refuses connections.
      postgres('P2010', '57P01', 'terminating connection due to administrator command'),
      postgres('P2039', '57P01', 'terminating connection due to administrator command'),
      postgres('P2039', '57P03', 'the database system is not yet accepting connections'),
      postgres('P2010', '08006', 'connection failure'),
      known('P2010', { kind: 'ConnectionClosed' }),
      known('P1017', { kind: 'ConnectionClosed' }),
      known('P2010', { kind: 'TooManyConnections', cause: 'sorry, too many clients already' }),
      known('P2024'),
      known('P2028', undefined, 'Transaction API error: Unable to start a transaction in the given time.'),
      new Prisma.PrismaClientInitializationError("Can't reach database server", clientVersion),
      // node-postgres' and pg-pool's own errors arrive unwrapped: the server died under a query, a connect timed out.
      new Error('Connection terminated unexpectedly'),
      new Error('Connection terminated due to connection timeout'),
      new Error('timeout exceeded when trying to connect'),
    ];
    expect(classify(unavailable)).toEqual(classify(unavailable).map((c) => ({ ...c, failure: 'unavailable' })));
  });

  it('tells a server that refuses the controller from one that is away', () => {
    const refused = [
      known('P1003', { kind: 'DatabaseDoesNotExist', db: 'berth' }),
      known('P2010', { kind: 'DatabaseDoesNotExist', db: 'berth' }),
      known('P2010', { kind: 'AuthenticationFailed', user: 'berth' }),
      known('P1010', { kind: 'DatabaseAccessDenied', db: 'berth' }),
      known('P1011', { kind: 'TlsConnectionError', reason: 'self-signed certificate' }),
    ];
    expect(classify(refused)).toEqual(classify(refused).map((c) => ({ ...c, failure: 'refused' })));
  });

  it('leaves failures of the statement itself alone', () => {
    const statementFailures = [
      known('P2002', { kind: 'UniqueConstraintViolation', constraint: { fields: ['name'] } }),
      known('P2025'),
      known('P2034', { kind: 'TransactionWriteConflict' }),
      postgres('P2010', '42601', 'syntax error at or near "SELEC"'),
      postgres('P2039', '57014', 'canceling statement due to statement timeout'),
      postgres('P2010', '08P01', 'bind message supplies 1 parameters, but prepared statement "" requires 2'),
      known('P2028', undefined, 'Transaction API error: Transaction already closed: A query cannot be executed on a committed transaction.'),
      known('P2010'),
      new Error('Connection to Redis lost'),
      'Connection terminated unexpectedly',
      null,
    ];
    expect(classify(statementFailures)).toEqual(classify(statementFailures).map((c) => ({ ...c, failure: null })));
  });
});

describe('the answer to a database failure', () => {
  it('is 503 database_unavailable, saying whether to try again; a unique violation stays 409 and a bad statement 500', () => {
    expect(toApiErrorBody(known('P2010', { kind: 'DatabaseNotReachable', host: '127.0.0.1', port: 1 }))).toEqual({
      statusCode: 503,
      code: 'database_unavailable',
      message: "The controller's database is unavailable; try again shortly",
    });
    expect(toApiErrorBody(known('P1003', { kind: 'DatabaseDoesNotExist', db: 'berth' }))).toEqual({
      statusCode: 503,
      code: 'database_unavailable',
      message: "The controller's database refuses its connections; see the controller log",
    });
    const duplicate = known('P2002', { kind: 'UniqueConstraintViolation' });
    expect(isUniqueViolation(duplicate)).toBe(true);
    expect(toApiErrorBody(duplicate)).toMatchObject({ statusCode: 409, code: 'already_exists' });
    expect(toApiErrorBody(postgres('P2010', '42601', 'syntax error'))).toMatchObject({ statusCode: 500, code: 'internal_error' });
  });

  it('is logged in one line naming the request: a warning while the server is away, an error when it refuses', () => {
    const logger = new Logger('test');
    const warn = jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
    const error = jest.spyOn(logger, 'error').mockImplementation(() => undefined);
    answerFailure(logger, 'GET /runs', known('P2010', { kind: 'DatabaseNotReachable' }, "Invalid `prisma.$queryRaw()` invocation:\n\nCan't reach database server at 127.0.0.1:5432"));
    answerFailure(logger, 'POST /hosts', known('P1003', { kind: 'DatabaseDoesNotExist' }, 'Database `berth` does not exist'));
    answerFailure(logger, 'GET /hosts', new Error('boom'));
    expect(warn.mock.calls).toEqual([["GET /runs: database unavailable: Can't reach database server at 127.0.0.1:5432"]]);
    expect(error.mock.calls.map(([line]) => String(line).split('\n')[0])).toEqual([
      'POST /hosts: the database refuses the controller (check DATABASE_URL and the server): Database `berth` does not exist',
      'GET /hosts: Error: boom',
    ]);
  });
});
