// A private redis-server for development and tests, when one is installed: on 127.0.0.1 and a free port,
// persisting nothing (queues of a demo or test run are not worth keeping), `noeviction` as BullMQ requires.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { hasExited, sleep, stopChild, tailOfFile } from '../child-process';
import { LocalStackError } from '../errors';
import { freePort } from '../free-port';
import { type LocalStackLog } from '../log';
import { probeRedis } from './probe';

export interface LocalRedis {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

export interface LocalRedisOptions {
  /** Holds `redis/` (the server's working directory) and `redis.log`. */
  readonly stateDir: string;
  readonly log: LocalStackLog;
  /** Where to look for redis-server; defaults to $PATH. */
  readonly searchPath?: string;
}

const READY_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 10_000;

export const REDIS_INSTALL_HINT = 'Redis is needed: install it (apt-get install redis-server) or set REDIS_URL=redis://HOST:PORT.';

export async function startLocalRedis(options: LocalRedisOptions): Promise<LocalRedis> {
  const executable = findOnPath('redis-server', options.searchPath ?? process.env['PATH'] ?? '');
  if (executable === null) throw new LocalStackError('REDIS_NOT_INSTALLED', REDIS_INSTALL_HINT);
  const workDir = path.join(options.stateDir, 'redis');
  fs.mkdirSync(workDir, { recursive: true });
  const logFile = path.join(options.stateDir, 'redis.log');
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  const server = spawnRedis(executable, port, workDir, logFile);
  const stopOnExit = (): void => {
    server.kill('SIGTERM');
  };
  process.once('exit', stopOnExit);
  try {
    await waitUntilReady(server, url, logFile);
  } catch (error) {
    process.removeListener('exit', stopOnExit);
    await stopChild(server, 'SIGTERM', STOP_TIMEOUT_MS);
    throw error;
  }
  options.log(`started redis-server on port ${port} (${executable}; nothing persisted; log in ${logFile})`);
  return {
    url,
    port,
    stop: async () => {
      process.removeListener('exit', stopOnExit);
      await stopChild(server, 'SIGTERM', STOP_TIMEOUT_MS);
    },
  };
}

export function findOnPath(name: string, searchPath: string): string | null {
  for (const dir of searchPath.split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

function spawnRedis(executable: string, port: number, workDir: string, logFile: string): ChildProcess {
  const logFd = fs.openSync(logFile, 'a');
  try {
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', workDir];
    args.push('--maxmemory-policy', 'noeviction', '--daemonize', 'no', '--logfile', '');
    return spawn(executable, args, { stdio: ['ignore', logFd, logFd] });
  } finally {
    fs.closeSync(logFd);
  }
}

async function waitUntilReady(server: ChildProcess, url: string, logFile: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (hasExited(server)) {
      throw new LocalStackError('REDIS_START_FAILED', `redis-server exited during start-up:\n${tailOfFile(logFile, 10)}`);
    }
    if ((await probeRedis(url, 500)).state === 'ready') return;
    if (Date.now() > deadline) {
      throw new LocalStackError('REDIS_START_FAILED', `redis-server did not answer PING within ${READY_TIMEOUT_MS / 1000} s:\n${tailOfFile(logFile, 10)}`);
    }
    await sleep(50);
  }
}
