import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { promises as fs, openSync, closeSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { freePort } from '@berth/local-stack';

export interface PrivateRedisOptions {
  /** Holds the server's data (`data/`) and `redis.log`. */
  readonly dir: string;
  /** Default: a free port. The same port is kept across stop() and start(). */
  readonly port?: number;
  readonly readyTimeoutMs?: number;
}

export interface PrivateRedis {
  readonly url: string;
  readonly port: number;
  readonly running: boolean;
  /** Stops the server (SIGTERM: a clean shutdown; SIGKILL: a crash). Its data stays for the next start(). */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port and data directory, resolving once it answers PING. */
  start(): Promise<void>;
}

/**
 * A redis-server of a test's own, on 127.0.0.1 and a port of its own, so a test can stop and restart Redis
 * without touching the Redis other tests share. It keeps an append-only file fsync'd on every write, as a
 * production Redis under BullMQ must: a restart then loses no queued or active job.
 */
export async function startPrivateRedis(options: PrivateRedisOptions): Promise<PrivateRedis> {
  const dataDir = path.join(options.dir, 'data');
  await fs.mkdir(dataDir, { recursive: true });
  const logFile = path.join(options.dir, 'redis.log');
  const port = options.port ?? (await freePort());
  const readyTimeoutMs = options.readyTimeoutMs ?? 15_000;
  let child: ChildProcess | null = null;

  const killOnExit = (): void => {
    child?.kill('SIGKILL');
  };

  const start = async (): Promise<void> => {
    if (child !== null) throw new Error(`private redis-server on port ${port} is already running`);
    const logFd = openSync(logFile, 'a');
    try {
      const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dataDir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'always'];
      args.push('--maxmemory-policy', 'noeviction', '--daemonize', 'no', '--logfile', '');
      child = spawn('redis-server', args, { stdio: ['ignore', logFd, logFd] });
    } finally {
      closeSync(logFd);
    }
    process.once('exit', killOnExit);
    const started = child;
    const deadline = Date.now() + readyTimeoutMs;
    for (;;) {
      if (started.exitCode !== null || started.signalCode !== null) {
        child = null;
        throw new Error(`redis-server on port ${port} exited during start-up; see ${logFile}`);
      }
      if (await answersPing(port)) return;
      if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer PING within ${readyTimeoutMs} ms; see ${logFile}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  const stop = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> => {
    const running = child;
    if (running === null) return;
    child = null;
    process.removeListener('exit', killOnExit);
    if (running.exitCode !== null || running.signalCode !== null) return;
    const exited = once(running, 'exit');
    running.kill(signal);
    const timer = setTimeout(() => running.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };

  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    get running() {
      return child !== null;
    },
    stop,
    start,
  };
}

/** One RESP PING on a fresh connection; true on +PONG. */
function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let answer = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (data: Buffer) => {
      answer += data.toString('latin1');
      if (answer.includes('\r\n')) done(answer.startsWith('+PONG'));
    });
  });
}
