'use strict';
// `createMigration` and `evaluateDataLoss` for PostgreSQL. The WebAssembly engine refuses both ("PostgreSQL
// shadow DB must be provided through an external factory"), but its `diff` does accept a shadow database
// from our adapter factory, and both answers follow from one diff: migrations directory -> target schema.
// The native engine also warns before destructive steps when the affected table or column holds data; we
// do the same for dropped tables and columns (the common cases) by counting rows on the main database.
// Other data-losing steps (type changes, new unique constraints) get no warning: review the generated SQL.
const pg = require('pg');
const { connectionFromUrl } = require('./pg-adapter');
const { quoteIdent } = require('./cli-commands');

const EMPTY_DRAFT_SCRIPT = '-- This is an empty migration.';
const DIFF_NOT_EMPTY = 2;
const POSTGRESQL_LOCKFILE = 'provider = "postgresql"\n';
const UNDEFINED_TABLE = '42P01';
const UNDEFINED_COLUMN = '42703';

/** SQL that takes the database from the state of `migrationsList` to the schema; null when nothing changes. */
async function migrationScript(engine, { migrationsList, schema, filters }) {
  // Before the first migration there is no migration_lock.toml yet (the CLI writes it after us), and the
  // diff insists on one to know the connector.
  const lockfile = { ...migrationsList.lockfile, content: migrationsList.lockfile.content ?? POSTGRESQL_LOCKFILE };
  const result = await engine.diff({
    from: { tag: 'migrations', ...migrationsList, lockfile },
    to: { tag: 'schemaDatamodel', ...schema },
    script: true,
    exitCode: true,
    filters,
  });
  return result.exitCode === DIFF_NOT_EMPTY && result.stdout ? result.stdout : null;
}

async function createMigration(engine, input) {
  const script = await migrationScript(engine, input);
  return {
    connectorType: 'postgresql',
    generatedMigrationName: migrationDirectoryName(input.migrationName, new Date()),
    migrationScript: script ?? (input.draft ? EMPTY_DRAFT_SCRIPT : null),
    extension: 'sql',
  };
}

/** `20260102030405_name`, in UTC like the native engine, or the bare timestamp when no name was given. */
function migrationDirectoryName(name, now) {
  const timestamp = now.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return name ? `${timestamp}_${name}` : timestamp;
}

async function evaluateDataLoss(engine, input, datasourceUrl) {
  const script = await migrationScript(engine, input);
  if (script === null) return { migrationSteps: 0, unexecutableSteps: [], warnings: [] };
  const statements = script.split(/;\s*\n/).filter((statement) => /\S/.test(statement.replace(/--.*$/gm, '')));
  return { migrationSteps: statements.length, unexecutableSteps: [], warnings: await dataLossWarnings(statements, datasourceUrl) };
}

/** Warnings for statements that drop a table or column holding data in the main database. */
async function dataLossWarnings(statements, datasourceUrl) {
  const checks = statements.flatMap((statement, stepIndex) => destructiveChecks(statement).map((check) => ({ ...check, stepIndex })));
  if (checks.length === 0 || !datasourceUrl) return [];
  const { config, schema } = connectionFromUrl(datasourceUrl);
  const client = new pg.Client(config);
  client.on('error', () => undefined);
  await client.connect();
  try {
    const warnings = [];
    for (const check of checks) {
      const table = `${quoteIdent(schema ?? 'public')}.${quoteIdent(check.table)}`;
      const where = check.column ? ` WHERE ${quoteIdent(check.column)} IS NOT NULL` : '';
      const count = await countRows(client, `SELECT count(*)::int AS n FROM ${table}${where}`);
      if (count === 0) continue;
      const message = check.column
        ? `You are about to drop the column \`${check.column}\` on the \`${check.table}\` table, which still contains ${count} non-null values.`
        : `You are about to drop the \`${check.table}\` table, which is not empty (${count} rows).`;
      warnings.push({ message, stepIndex: check.stepIndex });
    }
    return warnings;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Row count, or 0 when the table or column is not in the main database (it may lag the migrations). */
async function countRows(client, sql) {
  try {
    const { rows } = await client.query(sql);
    return rows[0]?.n ?? 0;
  } catch (error) {
    if (error?.code === UNDEFINED_TABLE || error?.code === UNDEFINED_COLUMN) return 0;
    throw error;
  }
}

/** Tables and columns a statement drops, from the SQL the engine generates (quoted identifiers). */
function destructiveChecks(statement) {
  const dropTable = /DROP TABLE "([^"]+)"/.exec(statement);
  if (dropTable) return [{ table: dropTable[1] }];
  const alterTable = /ALTER TABLE "([^"]+)"/.exec(statement);
  if (!alterTable) return [];
  return [...statement.matchAll(/DROP COLUMN "([^"]+)"/g)].map((match) => ({ table: alterTable[1], column: match[1] }));
}

module.exports = { createMigration, evaluateDataLoss, migrationDirectoryName };
