'use strict';
// PostgreSQL driver adapter for the WebAssembly schema engine: @prisma/adapter-pg with three fixes that
// the schema engine needs (the query path of Prisma Client does not hit them):
//   1. the engine's catalog queries return PostgreSQL's one-byte "char" type (OID 18), which adapter-pg
//      refuses ("Column type 'char' could not be deserialized"); we get such columns past adapter-pg as
//      text, then give them the Character column type the engine reads them as (reading `contype` as text
//      happens to work on PostgreSQL 15, whose catalog returns no such rows for Berth's schema, and makes
//      the engine panic on PostgreSQL 18, which lists NOT NULL constraints there);
//   2. adapter-pg opens the shadow database by spreading its config and overriding `database`, which does
//      nothing when the config is a connection string (pg lets the string win), so the "shadow" silently
//      is the main database; we always hand pg separate host/port/user/password/database fields;
//   3. adapter-pg drops the shadow database before closing the pool connected to it, so the drop fails and
//      the database is leaked; we close the pool first, then DROP DATABASE ... WITH (FORCE).
const { randomUUID } = require('node:crypto');
const { URL } = require('node:url');
const pg = require('pg');
const { PrismaPg } = require('@prisma/adapter-pg');
const { ColumnTypeEnum } = require('@prisma/driver-adapter-utils');

const PG_CHAR_OID = 18;
const PG_TEXT_OID = 25;

/**
 * Splits a postgresql:// URL into pg's separate connection fields (see fix 2 above), keeping the Prisma
 * `schema` parameter apart: it selects the PostgreSQL schema the engine works in.
 */
function connectionFromUrl(url) {
  let parsed;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error('The database URL is not a valid URL (expected postgresql://USER:PASSWORD@HOST:PORT/DATABASE).');
  }
  if (parsed.protocol !== 'postgresql:' && parsed.protocol !== 'postgres:') {
    throw new Error(`The database URL must start with postgresql:// (got ${parsed.protocol}//).`);
  }
  const params = parsed.searchParams;
  const schema = params.get('schema') ?? undefined;
  if (schema !== undefined && !/^[A-Za-z_][A-Za-z0-9_$]{0,62}$/.test(schema)) {
    throw new Error(`The database URL's schema parameter "${schema}" is not a plain PostgreSQL identifier.`);
  }
  const config = {
    host: params.get('host') ?? (parsed.hostname.replace(/^\[(.*)\]$/, '$1') || 'localhost'),
    port: parsed.port ? Number(parsed.port) : 5432,
    user: decodeURIComponent(parsed.username) || undefined,
    password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
    database: decodeURIComponent(parsed.pathname.replace(/^\//, '')) || 'postgres',
    ssl: sslFromMode(params.get('sslmode')),
    connectionTimeoutMillis: 10_000,
    max: 4,
    // The engine's SQL names tables without a schema: the `schema` parameter works through search_path.
    ...(schema === undefined ? {} : { options: `-c search_path="${schema}"` }),
  };
  return { config, schema };
}

function sslFromMode(mode) {
  switch (mode) {
    case null:
    case 'disable':
    case 'prefer':
      return false;
    case 'require':
    case 'no-verify':
      return { rejectUnauthorized: false };
    default:
      return { rejectUnauthorized: true };
  }
}

/** Result rows (the array adapter-pg passes on) -> indexes of their "char" columns (fix 1). */
const charColumns = new WeakMap();

/** A pg client that reports "char" (OID 18) result columns as text, remembering which (fix 1). */
class CharAsTextClient extends pg.Client {
  query(config, values, callback) {
    if (config !== null && typeof config === 'object' && typeof config.submit === 'function') {
      return super.query(config, values, callback); // submittables (cursors, streams): not used by the engine
    }
    if (typeof values === 'function') {
      return super.query(config, (error, result) => values(error, reportCharAsText(result)));
    }
    if (typeof callback === 'function') {
      return super.query(config, values, (error, result) => callback(error, reportCharAsText(result)));
    }
    return super.query(config, values).then(reportCharAsText);
  }
}

function reportCharAsText(result) {
  const indexes = [];
  (result?.fields ?? []).forEach((field, index) => {
    if (field.dataTypeID !== PG_CHAR_OID) return;
    field.dataTypeID = PG_TEXT_OID; // the value is a one-character string either way
    indexes.push(index);
  });
  if (indexes.length > 0) charColumns.set(result.rows, indexes);
  return result;
}

/** Gives the "char" columns that got past adapter-pg as text their Character type back (fix 1). */
function withCharColumns(queryable) {
  const queryRaw = queryable.queryRaw.bind(queryable);
  queryable.queryRaw = async (query) => {
    const result = await queryRaw(query);
    for (const index of charColumns.get(result.rows) ?? []) result.columnTypes[index] = ColumnTypeEnum.Character;
    return result;
  };
  return queryable;
}

/**
 * adapter-pg's factory with a shadow database that is really separate and really dropped (fixes 2, 3),
 * and which creates the PostgreSQL schema named by the URL's `schema` parameter, as the native engine does.
 */
class SchemaEnginePgFactory extends PrismaPg {
  async connect() {
    const adapter = withCharColumns(await super.connect());
    const startTransaction = adapter.startTransaction.bind(adapter);
    adapter.startTransaction = async (isolationLevel) => withCharColumns(await startTransaction(isolationLevel));
    const schema = this.options?.schema;
    if (schema !== undefined) await adapter.executeScript(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    return adapter;
  }

  async connectToShadowDb() {
    const admin = await this.connect();
    const database = `prisma_migrate_shadow_db_${randomUUID().replace(/-/g, '')}`;
    await admin.executeScript(`CREATE DATABASE "${database}"`);
    let shadow;
    try {
      shadow = await new SchemaEnginePgFactory({ ...this.config, database }, this.options).connect();
    } catch (error) {
      await admin.executeScript(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
      await admin.dispose();
      throw error;
    }
    const closeShadowPool = shadow.dispose.bind(shadow);
    shadow.dispose = async () => {
      await closeShadowPool();
      try {
        await admin.executeScript(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
      } catch {
        // The admin session may be gone (say, the main database was dropped meanwhile): try afresh.
        await dropThroughNewSession(this.config, database);
      } finally {
        await admin.dispose().catch(() => undefined);
      }
    };
    return shadow;
  }
}

/** Drops `database` through a new connection to the main database, else to `postgres`. */
async function dropThroughNewSession(config, database) {
  let lastError;
  for (const through of [config.database, 'postgres']) {
    const client = new pg.Client({ ...config, database: through });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
      return;
    } catch (error) {
      lastError = error;
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  throw lastError;
}

/** The adapter factory the schema engine gets for `url`. */
function createAdapterFactory(url) {
  const { config, schema } = connectionFromUrl(url);
  return new SchemaEnginePgFactory({ ...config, Client: CharAsTextClient }, schema === undefined ? undefined : { schema });
}

module.exports = { connectionFromUrl, createAdapterFactory, CharAsTextClient };
