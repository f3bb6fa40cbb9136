import { Client } from 'pg';
import { databaseName, quoteIdentifier, withDatabase } from '../database-url';

export type PostgresProbe = { state: 'ready' } | { state: 'missing-database' } | { state: 'unreachable'; reason: string };

const INVALID_CATALOG_NAME = '3D000';

/** Connects to `url` and runs one query, giving up after `timeoutMs`. */
export async function probePostgres(url: string, timeoutMs: number): Promise<PostgresProbe> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs });
  client.on('error', () => undefined); // a dropped connection also fails the pending query, reported below
  try {
    await client.connect();
    await client.query('SELECT 1');
    return { state: 'ready' };
  } catch (error) {
    if (errorCode(error) === INVALID_CATALOG_NAME) return { state: 'missing-database' };
    return { state: 'unreachable', reason: errorCode(error) ?? (error instanceof Error ? error.message : String(error)) };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Creates the database `url` names, through the server's `postgres` database; no error if it exists. */
export async function createDatabaseIfMissing(url: string): Promise<void> {
  const client = new Client({ connectionString: withDatabase(url, 'postgres') });
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${quoteIdentifier(databaseName(url))}`);
  } catch (error) {
    if (errorCode(error) !== '42P04') throw error; // duplicate_database: someone was quicker
  } finally {
    await client.end().catch(() => undefined);
  }
}

export function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'string' ? error.code : undefined;
}
