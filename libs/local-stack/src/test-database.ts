import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { quoteIdentifier, withDatabase } from './database-url';
import { LocalStackError } from './errors';
import { retryWhileInUse } from './template-database';

/** Environment variable naming the migrated template database (set by the Jest global setup). */
export const TEST_TEMPLATE_ENV = 'BERTH_TEST_DB_TEMPLATE';

export interface TestDatabase {
  /** postgresql:// URL of the new database: migrated, empty, used by nobody else. */
  readonly url: string;
  readonly name: string;
  /** Drops the database, ending any sessions still connected to it. */
  drop(): Promise<void>;
}

/**
 * A fresh migrated database for one integration suite, cloned from the run's template on the server of
 * DATABASE_URL. Call drop() in afterAll.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const serverUrl = process.env['DATABASE_URL'];
  const template = process.env[TEST_TEMPLATE_ENV];
  if (!serverUrl || !template) {
    throw new LocalStackError(
      'TEST_DATABASE_UNAVAILABLE',
      `DATABASE_URL and ${TEST_TEMPLATE_ENV} are not set: run the tests with jest from the repository root (its global setup provides both).`,
    );
  }
  const name = `berth_test_${process.pid}_${randomBytes(5).toString('hex')}`;
  await withServer(serverUrl, (client) =>
    retryWhileInUse(() => client.query(`CREATE DATABASE ${quoteIdentifier(name)} TEMPLATE ${quoteIdentifier(template)}`)),
  );
  return {
    url: withDatabase(serverUrl, name),
    name,
    drop: () => withServer(serverUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(name)} WITH (FORCE)`)).then(() => undefined),
  };
}

async function withServer<T>(serverUrl: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: serverUrl });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}
