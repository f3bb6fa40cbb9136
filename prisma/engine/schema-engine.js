#!/usr/bin/env node
'use strict';
// Stand-in for Prisma's native `schema-engine` binary, so that the ordinary Prisma CLI (`prisma migrate dev`,
// `migrate deploy`, `migrate diff`, `migrate status`, `migrate reset`, `db push`) works on machines that
// reach the npm registry but not Prisma's binaries host, from which the CLI would download the binary.
// prisma.config.ts points PRISMA_SCHEMA_ENGINE_BINARY here; the CLI then spawns this file exactly as it
// would spawn the binary:
//   schema-engine [--datamodels FILE]... [--datasource JSON]           JSON-RPC 2.0, one message per line,
//                                                                       requests on stdin, replies on stdout
//   schema-engine --datasource JSON cli can-connect-to-database|create-database|drop-database
//   schema-engine --version
// Requests are forwarded to the same schema engine compiled to WebAssembly (@prisma/schema-engine-wasm),
// connected through @prisma/adapter-pg (see pg-adapter.js for the fixes it needs). Logs go to stderr as the
// JSON lines the binary writes; the CLI reads errors from them. PostgreSQL only.
const fs = require('node:fs');
const readline = require('node:readline');
const { bindMigrationAwareSqlAdapterFactory } = require('@prisma/driver-adapter-utils');
const { loadSchemaEngineWasm, takePanicMessage } = require('./wasm');
const { createAdapterFactory } = require('./pg-adapter');
const { runCliCommand, UserFacingError } = require('./cli-commands');
const { createMigration, evaluateDataLoss } = require('./migration-script');

/** Engine methods forwarded unchanged; the others are answered below. */
const FORWARDED_METHODS = new Set([
  'applyMigrations',
  'dbExecute',
  'debugPanic',
  'devDiagnostic',
  'diagnoseMigrationHistory',
  'ensureConnectionValidity',
  'introspect',
  'introspectSql',
  'markMigrationApplied',
  'markMigrationRolledBack',
  'reset',
  'schemaPush',
]);

/** The engine panics on an empty datamodel list; commands such as `migrate diff` pass none. */
const PLACEHOLDER_DATAMODEL = ['schema.prisma', 'datasource db {\n  provider = "postgresql"\n}\n'];

const ENGINE_ERROR_CODE = 4466; // the native engine's JSON-RPC error code; details are in `data`
const METHOD_NOT_FOUND = -32601;

function parseArguments(argv) {
  const options = { datamodels: [], datasource: {}, cliCommand: null, printVersion: false };
  for (let i = 0; i < argv.length; i++) {
    const argument = argv[i];
    switch (argument) {
      case '--datamodels':
        options.datamodels.push(argv[++i]);
        break;
      case '--datasource':
        options.datasource = JSON.parse(argv[++i] ?? '{}');
        break;
      case '--enabled-preview-features':
      case '--extension-types':
        i++; // PostgreSQL extensions and preview features are not used by Berth's schema
        break;
      case '--version':
      case '-V':
        options.printVersion = true;
        break;
      case 'cli':
        options.cliCommand = argv[++i] ?? '';
        break;
      default:
        throw new Error(`schema-engine: unknown argument "${argument}"`);
    }
  }
  return options;
}

function log(level, message, fields = {}) {
  process.stderr.write(`${JSON.stringify({ timestamp: new Date().toISOString(), level, fields: { message, ...fields }, target: 'schema_engine::logger' })}\n`);
}

async function runCli(options) {
  log('INFO', `Starting schema engine CLI (WebAssembly): ${options.cliCommand}`);
  try {
    await runCliCommand(options.cliCommand, options.datasource.url);
    return 0;
  } catch (error) {
    // The CLI parses every stderr line after the first as JSON, after stripping the final newline.
    const fields = error instanceof UserFacingError ? { error_code: error.code } : {};
    process.stderr.write(JSON.stringify({ level: 'ERROR', fields: { message: errorMessage(error), ...fields }, target: 'schema_engine::logger' }));
    return 1;
  }
}

async function serveJsonRpc(options) {
  const glue = await loadSchemaEngineWasm();
  let engine = null; // created on the first request, so that a connection failure becomes an RPC error
  const printReplies = new Map();
  let nextPrintId = 1;

  /** Asks the CLI to print text (how the native engine returns `migrate diff` output) and waits for its ack. */
  const printToCli = (content) =>
    new Promise((resolve) => {
      const id = nextPrintId++;
      printReplies.set(id, resolve);
      writeMessage({ jsonrpc: '2.0', id, method: 'print', params: { content } });
    });

  const call = async (method, params) => {
    engine ??= await createEngine(glue, options);
    if (FORWARDED_METHODS.has(method)) return engine[method](params);
    switch (method) {
      case 'createMigration':
        return createMigration(engine, params);
      case 'evaluateDataLoss':
        return evaluateDataLoss(engine, params, options.datasource.url);
      case 'diff': {
        const result = await engine.diff(params);
        if (result.stdout) await printToCli(result.stdout.replace(/\n$/, ''));
        return { exitCode: result.exitCode, stdout: null };
      }
      case 'getDatabaseVersion':
      case 'version':
        return engine.version(null);
      default:
        throw Object.assign(new Error(`Unknown schema engine method "${method}"`), { rpcCode: METHOD_NOT_FOUND });
    }
  };

  const handle = async (request) => {
    try {
      writeMessage({ jsonrpc: '2.0', id: request.id, result: (await call(request.method, request.params)) ?? {} });
    } catch (error) {
      writeMessage({ jsonrpc: '2.0', id: request.id, error: rpcError(error) });
    }
  };

  // One request at a time, in order: the engine is not re-entrant. Replies to our `print` requests carry
  // no method and are routed to their waiter immediately (the request waiting for them holds the queue).
  let queue = Promise.resolve();
  const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  lines.on('line', (line) => {
    if (line.trim() === '') return;
    let message;
    try {
      message = JSON.parse(line);
    } catch {
      log('ERROR', `schema-engine: ignoring a line that is not JSON: ${line.slice(0, 200)}`);
      return;
    }
    if (message.method === undefined) {
      printReplies.get(message.id)?.();
      printReplies.delete(message.id);
      return;
    }
    queue = queue.then(() => handle(message));
  });
  await new Promise((resolve) => lines.once('close', resolve));
  await queue;
  return 0;
}

async function createEngine(glue, options) {
  const url = options.datasource.url;
  if (!url) throw new Error('No database URL: set DATABASE_URL (prisma.config.ts reads it) to a PostgreSQL server.');
  if (options.datasource.shadowDatabaseUrl) {
    log('WARN', 'shadowDatabaseUrl is ignored: the shadow database is a temporary database on the main server.');
  }
  const datamodels = options.datamodels.length > 0 ? options.datamodels.map((file) => [file, fs.readFileSync(file, 'utf8')]) : [PLACEHOLDER_DATAMODEL];
  const adapterFactory = bindMigrationAwareSqlAdapterFactory(createAdapterFactory(url));
  const forwardLog = (line) => process.stderr.write(`${line}\n`);
  return glue.SchemaEngine.new({ datamodels }, forwardLog, adapterFactory);
}

/** The error shape the CLI expects from the native engine: details, code and panic flag under `data`. */
function rpcError(error) {
  const panicMessage = takePanicMessage();
  if (error?.rpcCode !== undefined) return { code: error.rpcCode, message: errorMessage(error) };
  const userFacing = error instanceof UserFacingError ? error : recogniseUserFacingError(errorMessage(error));
  const data = { is_panic: panicMessage !== null, message: panicMessage ?? errorMessage(error), meta: {} };
  if (userFacing) data.error_code = userFacing.code;
  return { code: ENGINE_ERROR_CODE, message: 'An error happened. Check the data field for details.', data };
}

/** The WebAssembly engine's errors are bare messages; give the common ones their Prisma codes back. */
function recogniseUserFacingError(message) {
  if (/^Database `.+` does not exist/.test(message)) return new UserFacingError('P1003', message);
  return null;
}

function errorMessage(error) {
  return (error instanceof Error ? error.message : String(error)).trim();
}

function writeMessage(message) {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

async function main() {
  const options = parseArguments(process.argv.slice(2));
  if (options.printVersion) {
    const glue = await loadSchemaEngineWasm();
    process.stdout.write(`schema-engine-cli ${glue.version()}\n`);
    return 0;
  }
  return options.cliCommand === null ? serveJsonRpc(options) : runCli(options);
}

// A Rust panic inside an engine callback surfaces here (RuntimeError: unreachable). Its message has been
// logged already (wasm.js); exit as the native binary does on a panic, so the CLI reports one.
process.on('uncaughtException', (error) => {
  log('ERROR', `schema engine crashed: ${errorMessage(error)}`);
  process.exit(101);
});

// Exit explicitly: the engine's connection pools would otherwise keep the process alive after stdin ends.
main().then(
  (code) => process.exit(code),
  (error) => {
    log('ERROR', errorMessage(error));
    process.exit(1);
  },
);
