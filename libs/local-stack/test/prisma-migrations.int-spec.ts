// The ordinary Prisma CLI, offline (prisma.config.ts + prisma/engine), against real PostgreSQL: migrations
// apply to a fresh database, the history it records is Prisma's standard one, and the drift check passes
// for the committed schema and fails for a schema the migrations do not produce.
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { createTestDatabase, migrateDatabase, repositoryRoot } from '../src';
import { quoteIdentifier, withDatabase } from '../src/database-url';

// Each Prisma CLI call or server start takes seconds; Jest applies only the global testTimeout (5 s by
// default), not the integration project's.
jest.setTimeout(120_000);

const run = promisify(execFile);
const root = repositoryRoot();
const prismaCli = path.join(root, 'node_modules', 'prisma', 'build', 'index.js');
const serverUrl = (): string => {
  const url = process.env['DATABASE_URL'];
  if (!url) throw new Error('DATABASE_URL is set by the Jest global setup');
  return url;
};

async function prisma(args: string[], databaseUrl: string): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [prismaCli, ...args], {
      cwd: root,
      env: { ...process.env, DATABASE_URL: databaseUrl, CHECKPOINT_DISABLE: '1' },
    });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failed.code === 'number' ? failed.code : -1, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
  }
}

async function query<T>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end();
  }
}

const tablesOf = async (url: string): Promise<string[]> =>
  (await query<{ table_name: string }>(url, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name")).map(
    (row) => row.table_name,
  );

/** Every table the schema declares (its @@map names), plus Prisma's own history table: what a migrated database must hold. */
const EXPECTED_TABLES = [
  '_prisma_migrations',
  ...[...fs.readFileSync(path.join(root, 'prisma', 'schema.prisma'), 'utf8').matchAll(/@@map\("([a-z_]+)"\)/g)].map((match) => match[1] ?? ''),
].sort();

describe('Prisma migrations through the offline schema engine', () => {
  const fresh = `berth_migrate_${randomBytes(5).toString('hex')}`;
  let freshUrl: string;

  beforeAll(() => {
    freshUrl = withDatabase(serverUrl(), fresh);
  });

  afterAll(async () => {
    await query(serverUrl(), `DROP DATABASE IF EXISTS ${quoteIdentifier(fresh)} WITH (FORCE)`);
  });

  it('creates a missing database and applies every migration with `prisma migrate deploy`', async () => {
    const { output } = await migrateDatabase(freshUrl);
    expect(output).toContain('All migrations have been successfully applied');
    expect(await tablesOf(freshUrl)).toEqual(EXPECTED_TABLES);

    const migrations = fs.readdirSync(path.join(root, 'prisma', 'migrations')).filter((name) => /^\d{14}_/.test(name)).sort();
    const applied = await query<{ migration_name: string; checksum: string; finished_at: Date | null }>(
      freshUrl,
      'SELECT migration_name, checksum, finished_at FROM _prisma_migrations ORDER BY migration_name',
    );
    expect(applied.map((row) => row.migration_name)).toEqual(migrations);
    for (const row of applied) {
      const sql = fs.readFileSync(path.join(root, 'prisma', 'migrations', row.migration_name, 'migration.sql'));
      expect(row.checksum).toBe(createHash('sha256').update(sql).digest('hex')); // what the native engine records
      expect(row.finished_at).not.toBeNull();
    }
  });

  it('reports the migrated database as up to date with `prisma migrate status`', async () => {
    const status = await prisma(['migrate', 'status'], freshUrl);
    expect(status.output).toContain('Database schema is up to date');
    expect(status.code).toBe(0);
  });

  it('finds no drift between the committed migrations and prisma/schema.prisma', async () => {
    const drift = await prisma(['migrate', 'diff', '--from-migrations', 'prisma/migrations', '--to-schema', 'prisma/schema.prisma', '--exit-code'], serverUrl());
    expect(drift.output).toContain('No difference detected');
    expect(drift.code).toBe(0);
  });

  it('fails the drift check, naming the change, when the schema has moved on without a migration', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-drift-'));
    try {
      const schema = fs.readFileSync(path.join(root, 'prisma', 'schema.prisma'), 'utf8');
      const drifted = `${schema}\nmodel DriftProbe {\n  id Int @id\n\n  @@map("drift_probe")\n}\n`;
      fs.writeFileSync(path.join(dir, 'schema.prisma'), drifted);
      const drift = await prisma(
        ['migrate', 'diff', '--from-migrations', 'prisma/migrations', '--to-schema', path.join(dir, 'schema.prisma'), '--exit-code'],
        serverUrl(),
      );
      expect(drift.code).toBe(2);
      expect(drift.output).toContain('drift_probe');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('honours the URL\'s schema parameter: creates the schema and migrates into it, not into public', async () => {
    const database = `berth_migrate_schema_${randomBytes(5).toString('hex')}`;
    try {
      await migrateDatabase(`${withDatabase(serverUrl(), database)}?schema=tenant_a`);
      const tables = await query<{ table: string }>(
        withDatabase(serverUrl(), database),
        "SELECT table_schema || '.' || table_name AS table FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1",
      );
      expect(tables.map((row) => row.table)).toEqual(EXPECTED_TABLES.map((table) => `tenant_a.${table}`));
    } finally {
      await query(serverUrl(), `DROP DATABASE IF EXISTS ${quoteIdentifier(database)} WITH (FORCE)`);
    }
  });

  it('clones the migrated template for a suite with createTestDatabase, and drops it again', async () => {
    const database = await createTestDatabase();
    try {
      expect(await tablesOf(database.url)).toEqual(EXPECTED_TABLES);
      await query(database.url, "INSERT INTO hosts (id, name, paths, excludes, updated_at) VALUES (gen_random_uuid(), 'web-1', '{/etc}', '{}', now())");
      const other = await createTestDatabase();
      try {
        expect(await query(other.url, 'SELECT name FROM hosts')).toEqual([]); // suites do not share rows
      } finally {
        await other.drop();
      }
    } finally {
      await database.drop();
    }
    const left = await query(serverUrl(), 'SELECT 1 FROM pg_database WHERE datname = $1', [database.name]);
    expect(left).toHaveLength(0);
  });

  describe('prisma migrate dev (migrations authored offline)', () => {
    // A scratch copy of prisma/ with its own config, inside the checkout so that the config resolves the
    // `prisma` package; the schema engine is the repository's.
    let dir: string;
    let databaseUrl: string;
    const database = `berth_migrate_dev_${randomBytes(5).toString('hex')}`;
    const schema = (extra: string): string =>
      fs.readFileSync(path.join(root, 'prisma', 'schema.prisma'), 'utf8').replace(/output\s*=\s*"[^"]*"/, 'output = "./generated"') + extra;
    const devConfig = (): string[] => ['--config', path.join(dir, 'prisma.config.ts')];

    beforeAll(() => {
      databaseUrl = withDatabase(serverUrl(), database);
      fs.mkdirSync(path.join(root, 'tmp'), { recursive: true });
      dir = fs.mkdtempSync(path.join(root, 'tmp', 'migrate-dev-'));
      fs.cpSync(path.join(root, 'prisma', 'migrations'), path.join(dir, 'migrations'), { recursive: true });
      fs.writeFileSync(
        path.join(dir, 'prisma.config.ts'),
        [
          "import path from 'node:path';",
          "import { defineConfig } from 'prisma/config';",
          `process.env['PRISMA_SCHEMA_ENGINE_BINARY'] = ${JSON.stringify(path.join(root, 'prisma', 'engine', 'schema-engine.js'))};`,
          "export default defineConfig({ schema: path.join(__dirname, 'schema.prisma'), migrations: { path: path.join(__dirname, 'migrations') },",
          "  datasource: { url: process.env['DATABASE_URL'] ?? '' } });",
        ].join('\n'),
      );
    });

    afterAll(async () => {
      fs.rmSync(dir, { recursive: true, force: true });
      await query(serverUrl(), `DROP DATABASE IF EXISTS ${quoteIdentifier(database)} WITH (FORCE)`);
    });

    it('creates and applies a migration for a schema change', async () => {
      fs.writeFileSync(path.join(dir, 'schema.prisma'), schema('\nmodel DevProbe {\n  id Int @id\n  note String?\n\n  @@map("dev_probe")\n}\n'));
      const dev = await prisma(['migrate', 'dev', '--name', 'add_dev_probe', ...devConfig()], databaseUrl);
      expect(dev.output).toContain('Your database is now in sync with your schema');
      expect(dev.code).toBe(0);
      const created = fs.readdirSync(path.join(dir, 'migrations')).filter((name) => name.endsWith('_add_dev_probe'));
      expect(created).toHaveLength(1);
      const sql = fs.readFileSync(path.join(dir, 'migrations', created[0] ?? '', 'migration.sql'), 'utf8');
      expect(sql).toContain('CREATE TABLE "dev_probe"');
      expect(sql).not.toContain('CREATE TABLE "hosts"'); // only the change, computed against the existing migrations
      expect(await tablesOf(databaseUrl)).toContain('dev_probe');
    });

    it('refuses, naming the data, to drop a table that holds rows without confirmation', async () => {
      await query(databaseUrl, "INSERT INTO dev_probe (id, note) VALUES (1, 'keep me')");
      fs.writeFileSync(path.join(dir, 'schema.prisma'), schema(''));
      const dev = await prisma(['migrate', 'dev', '--name', 'drop_dev_probe', ...devConfig()], databaseUrl);
      expect(dev.output).toContain('You are about to drop the `dev_probe` table, which is not empty (1 rows).');
      expect(dev.code).not.toBe(0);
      expect(fs.readdirSync(path.join(dir, 'migrations')).filter((name) => name.endsWith('_drop_dev_probe'))).toEqual([]);
      expect(await query(databaseUrl, 'SELECT note FROM dev_probe')).toEqual([{ note: 'keep me' }]);
    });
  });
});
