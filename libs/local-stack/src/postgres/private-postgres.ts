// A PostgreSQL server of a test's own, from the same binaries as the embedded one, so a test can stop, crash and
// restart PostgreSQL without touching the server other tests share. Unlike the embedded development server it keeps
// PostgreSQL's durability defaults: what it acknowledged survives a crash, as on a production server.
import { type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { hasExited, sleep, stopChild, tailOfFile } from '../child-process';
import { LocalStackError } from '../errors';
import { freePort } from '../free-port';
import { createDatabaseIfMissing, probePostgres } from './probe';
import { ensureInitialised, PASSWORD_FILE, postgresBinaries, spawnServer, SUPERUSER, unprivilegedUser } from './embedded-postgres';

export interface PrivatePostgresOptions {
  /** Holds the cluster (`data/`) and its log (`data.log`); made traversable by the server's user when we are root. */
  readonly dir: string;
  /** Database to create and put in the URL. */
  readonly database: string;
  /** Default: a free port. The same port is kept across stop() and start(). */
  readonly port?: number;
  readonly readyTimeoutMs?: number;
}

export interface PrivatePostgres {
  readonly url: string;
  readonly port: number;
  readonly running: boolean;
  /**
   * Stops the server: SIGTERM waits for sessions to end, SIGINT ends them (PostgreSQL's fast shutdown), SIGQUIT quits
   * without a checkpoint (immediate shutdown: the next start recovers from the WAL, as after a crash). The data stays.
   */
  stop(signal?: 'SIGTERM' | 'SIGINT' | 'SIGQUIT'): Promise<void>;
  /** Starts it again on the same port and data directory, resolving once it accepts queries. */
  start(): Promise<void>;
}

const STOP_TIMEOUT_MS = 20_000;

export async function startPrivatePostgres(options: PrivatePostgresOptions): Promise<PrivatePostgres> {
  const binaries = postgresBinaries();
  const runAs = unprivilegedUser();
  fs.mkdirSync(options.dir, { recursive: true });
  if (runAs) fs.chmodSync(options.dir, 0o755);
  const dataDir = path.join(options.dir, 'data');
  ensureInitialised(binaries, dataDir, runAs);
  const password = fs.readFileSync(path.join(dataDir, PASSWORD_FILE), 'utf8').trim();
  const logFile = `${dataDir}.log`;
  const port = options.port ?? (await freePort());
  const url = `postgresql://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(options.database)}`;
  const readyTimeoutMs = options.readyTimeoutMs ?? 60_000;
  let server: ChildProcess | null = null;
  /** Servers stop() was asked to end: one ended while starting was stopped, it did not fail. */
  const stopped = new WeakSet<ChildProcess>();

  const killOnExit = (): void => {
    server?.kill('SIGQUIT');
  };
  /** Forgets `child` once it has ended, unless a newer server has taken its place. */
  const forget = (child: ChildProcess): void => {
    if (server !== child) return;
    server = null;
    process.removeListener('exit', killOnExit);
  };

  const start = async (): Promise<void> => {
    if (server !== null) throw new LocalStackError('POSTGRES_START_FAILED', `the private PostgreSQL on port ${port} is already running`);
    const started = spawnServer(binaries, dataDir, port, logFile, runAs, { durable: true });
    let spawnError: Error | null = null;
    started.once('error', (error) => {
      spawnError = error; // e.g. the binary cannot be executed; without a listener it would end this process
      forget(started);
    });
    started.once('exit', () => forget(started));
    server = started;
    // Ends the server with this process; a process killed outright (SIGKILL) leaves it running until its data
    // directory is removed (a test's temporary directory: the server then fails and exits).
    process.once('exit', killOnExit);
    const deadline = Date.now() + readyTimeoutMs;
    for (;;) {
      if (stopped.has(started)) throw new LocalStackError('POSTGRES_START_FAILED', `the private PostgreSQL on port ${port} was stopped while starting`);
      if (spawnError !== null || hasExited(started)) {
        forget(started);
        const why = spawnError === null ? `exited during start-up:\n${tailOfFile(logFile, 15)}` : `could not be started: ${(spawnError as Error).message}`;
        throw new LocalStackError('POSTGRES_START_FAILED', `the private PostgreSQL on port ${port} ${why}`);
      }
      // "Missing database" answers too: the server is up, and the first start creates the database below.
      if ((await probePostgres(url, 1_000)).state !== 'unreachable') return;
      if (Date.now() > deadline) {
        await stop('SIGQUIT');
        throw new LocalStackError('POSTGRES_START_FAILED', `the private PostgreSQL on port ${port} did not accept connections within ${readyTimeoutMs} ms:\n${tailOfFile(logFile, 15)}`);
      }
      await sleep(50);
    }
  };

  const stop = async (signal: 'SIGTERM' | 'SIGINT' | 'SIGQUIT' = 'SIGINT'): Promise<void> => {
    const running = server;
    if (running === null) return;
    stopped.add(running);
    forget(running);
    await stopChild(running, signal, STOP_TIMEOUT_MS);
  };

  await start();
  try {
    await createDatabaseIfMissing(url);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    url,
    port,
    get running() {
      return server !== null && !hasExited(server);
    },
    stop,
    start,
  };
}
