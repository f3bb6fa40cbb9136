import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** How long a port handed out stays claimed: longer than any service takes to bind it. */
const CLAIM_MS = 10 * 60_000;
const ATTEMPTS = 50;

export interface FreePortOptions {
  /** The interface to test on (default 127.0.0.1). */
  readonly host?: string;
  /** Where claims are kept; every process that should not be handed the same port must share it. */
  readonly claimDir?: string;
}

/**
 * A TCP port free right now on `host`, picked by the kernel, that no other caller of freePort on this machine
 * (any process) was handed in the last ten minutes. The kernel alone may hand the same port to two callers
 * between one's pick and its service's bind (parallel test workers, or one test asking for two ports before
 * binding either); a claim file per port (created exclusively) rules that out. Another program could still
 * take the port before the service binds; the service then fails loudly at start.
 */
export async function freePort(options: FreePortOptions | string = {}): Promise<number> {
  const { host = '127.0.0.1', claimDir = defaultClaimDir() } = typeof options === 'string' ? { host: options } : options;
  await fs.mkdir(claimDir, { recursive: true });
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const port = await kernelPort(host);
    if (await claimPort(claimDir, port)) return port;
  }
  throw new Error(`no unclaimed TCP port on ${host} after ${ATTEMPTS} tries (claims in ${claimDir})`);
}

function defaultClaimDir(): string {
  return path.join(os.tmpdir(), 'berth-port-claims');
}

/** Claims `port` in `dir` for this caller: false when another caller claimed it less than ten minutes ago. */
export async function claimPort(dir: string, port: number): Promise<boolean> {
  const file = path.join(dir, String(port));
  const token = `${process.pid}.${randomUUID()}\n`;
  try {
    await fs.writeFile(file, token, { flag: 'wx' });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const info = await fs.stat(file).catch(() => null);
  if (info !== null && Date.now() - info.mtimeMs < CLAIM_MS) return false;
  // A stale claim: take it over by renaming a fresh one onto it; of two callers both doing so, only the one
  // whose token the claim file holds afterwards has it.
  const mine = `${file}.${randomUUID()}`;
  await fs.writeFile(mine, token);
  await fs.rename(mine, file);
  const holder = await fs.readFile(file, 'utf8').catch(() => '');
  return holder === token;
}

function kernelPort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('could not read the port the kernel picked'))));
    });
  });
}

/** Resolves whether a TCP connection to host:port succeeds within `timeoutMs`. */
export function canConnect(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
