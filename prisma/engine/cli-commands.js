'use strict';
// `schema-engine cli <command>`: the three database-level operations the Prisma CLI runs as one-shot
// processes (checking a database exists before `migrate dev|deploy`, creating it, dropping it). They need
// no schema engine, only a connection, so they are done here with pg directly. The CLI reads the outcome
// from the exit code and, on failure, from JSON log lines on stderr carrying a Prisma error code.
const pg = require('pg');
const { connectionFromUrl } = require('./pg-adapter');

const DUPLICATE_DATABASE = '42P04';
const INVALID_CATALOG_NAME = '3D000';
const INVALID_PASSWORD = '28P01';
const INVALID_AUTHORIZATION = '28000';

class UserFacingError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

/** Runs one CLI subcommand; resolves when it succeeded, rejects with a UserFacingError or Error if not. */
async function runCliCommand(command, datasourceUrl) {
  if (!datasourceUrl) throw new Error('No database URL: set DATABASE_URL (read by prisma.config.ts).');
  const { config } = connectionFromUrl(datasourceUrl);
  switch (command) {
    case 'can-connect-to-database':
      return withClient(config, config.database, async () => undefined);
    case 'create-database':
      return withMaintenanceClient(config, (client) => client.query(`CREATE DATABASE ${quoteIdent(config.database)}`));
    case 'drop-database':
      return withMaintenanceClient(config, (client) => client.query(`DROP DATABASE ${quoteIdent(config.database)} WITH (FORCE)`));
    default:
      throw new Error(`Unknown schema engine CLI command "${command}" (known: can-connect-to-database, create-database, drop-database).`);
  }
}

/** Like the native engine: administrative statements go through `postgres`, else `template1`. */
async function withMaintenanceClient(config, work) {
  try {
    return await withClient(config, 'postgres', work);
  } catch (error) {
    if (!(error instanceof UserFacingError) || error.code !== 'P1003') throw error;
    return withClient(config, 'template1', work);
  }
}

/** Connects to `database` on the server of `config`; errors name `config.database`, the command's target. */
async function withClient(config, database, work) {
  const client = new pg.Client({ ...config, database });
  client.on('error', () => undefined); // a dropped connection surfaces through the pending query instead
  try {
    await client.connect();
    return await work(client);
  } catch (error) {
    throw toUserFacingError(error, config, database);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Maps pg's errors to the Prisma error codes and wording the CLI expects from the native engine. */
function toUserFacingError(error, config, connectedTo) {
  const where = `${config.host}:${config.port}`;
  const code = typeof error?.code === 'string' ? error.code : '';
  if (['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ETIMEDOUT', 'ENOENT'].includes(code) || /timeout/i.test(String(error?.message))) {
    return new UserFacingError('P1001', `Can't reach database server at \`${where}\`\n\nPlease make sure your database server is running at \`${where}\`.`);
  }
  switch (code) {
    case INVALID_CATALOG_NAME:
      return new UserFacingError('P1003', `Database \`${connectedTo}\` does not exist on the database server at \`${where}\`.`);
    case DUPLICATE_DATABASE:
      return new UserFacingError('P1009', `Database \`${config.database}\` already exists on the database server at \`${where}\``);
    case INVALID_PASSWORD:
    case INVALID_AUTHORIZATION:
      return new UserFacingError('P1000', `Authentication failed against database server at \`${where}\`, the provided database credentials for \`${config.user ?? ''}\` are not valid.`);
    default:
      return error instanceof Error ? error : new Error(String(error));
  }
}

function quoteIdent(name) {
  return `"${String(name).replace(/"/g, '""')}"`;
}

module.exports = { runCliCommand, UserFacingError, quoteIdent };
