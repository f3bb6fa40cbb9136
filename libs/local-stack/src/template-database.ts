// One migrated template database per version of prisma/migrations, cloned for each integration suite
// (CREATE DATABASE ... TEMPLATE copies files: much faster than migrating every suite's database).
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { sleep } from './child-process';
import { quoteIdentifier, withDatabase } from './database-url';
import { type LocalStackLog } from './log';
import { migrateDatabase } from './migrate';
import { errorCode } from './postgres/probe';
import { repositoryRoot } from './repository-root';

/** Serialises template creation between concurrent test runs on one server ("BERT", 1). */
const TEMPLATE_LOCK = [0x42455254, 1] as const;
const OBJECT_IN_USE = '55006';

/** Short digest of every file under prisma/migrations (names and contents), in a stable order. */
export function migrationsFingerprint(migrationsDir: string = path.join(repositoryRoot(), 'prisma', 'migrations')): string {
  const hash = createHash('sha256');
  for (const file of listFiles(migrationsDir)) {
    hash.update(`${file}\0`);
    hash.update(fs.readFileSync(path.join(migrationsDir, file)));
    hash.update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

function listFiles(dir: string, prefix = ''): string[] {
  return fs
    .readdirSync(path.join(dir, prefix), { withFileTypes: true })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .flatMap((entry) => {
      const relative = prefix ? `${prefix}/${entry.name}` : entry.name;
      return entry.isDirectory() ? listFiles(dir, relative) : [relative];
    });
}

export function templateDatabaseName(fingerprint: string): string {
  return `berth_template_${fingerprint}`;
}

/**
 * Makes sure the template for the current migrations exists on the server of `serverUrl` and returns its
 * name. It is built under a temporary name and renamed when complete, so a crashed run never leaves a
 * half-migrated template behind; an advisory lock makes a concurrent run wait for it instead of racing.
 */
export async function ensureTemplateDatabase(serverUrl: string, log: LocalStackLog): Promise<string> {
  const template = templateDatabaseName(migrationsFingerprint());
  const client = new Client({ connectionString: serverUrl });
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1, $2)', [...TEMPLATE_LOCK]);
    if (await databaseExists(client, template)) return template;
    const building = `${template}_building`;
    const started = Date.now();
    await client.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(building)} WITH (FORCE)`); // a crashed run's
    await client.query(`CREATE DATABASE ${quoteIdentifier(building)}`);
    await migrateDatabase(withDatabase(serverUrl, building));
    await retryWhileInUse(() => client.query(`ALTER DATABASE ${quoteIdentifier(building)} RENAME TO ${quoteIdentifier(template)}`));
    // Nobody may connect to the template: a lingering session would make every clone fail.
    await client.query(`ALTER DATABASE ${quoteIdentifier(template)} WITH ALLOW_CONNECTIONS false`);
    log(`migrated test template database ${template} in ${Date.now() - started} ms`);
    return template;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1, $2)', [...TEMPLATE_LOCK]).catch(() => undefined);
    await client.end().catch(() => undefined);
  }
}

async function databaseExists(client: Client, name: string): Promise<boolean> {
  const result = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
  return result.rowCount === 1;
}

/** Runs a statement that needs a database nobody is connected to; sessions that just closed may linger. */
export async function retryWhileInUse<T>(statement: () => Promise<T>, attempts = 50): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await statement();
    } catch (error) {
      if (errorCode(error) !== OBJECT_IN_USE || attempt >= attempts) throw error;
      await sleep(100);
    }
  }
}
