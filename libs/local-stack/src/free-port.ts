import { promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** A claim lasts from one to two of these windows: longer than any test file keeps a port it may bind again. */
const CLAIM_WINDOW_MS = 30 * 60_000;
const ATTEMPTS = 50;

export interface FreePortOptions {
  /** The interface to test on (default 127.0.0.1). */
  readonly host?: string;
  /** Where claims are kept; every process that should not be handed the same port must share it. */
  readonly claimDir?: string;
}

/**
 * A TCP port free right now on `host`, picked by the kernel, that no other caller of freePort on this machine
 * (any process, any user) was handed in the last half hour. The kernel alone may hand the same port to two
 * callers between one's pick and its service's bind (parallel test workers, or one test asking for two ports
 * before binding either); a claim file per port rules that out. Another program (or an outgoing connection) could
 * still take the port before the service binds it; the service then fails loudly at start. Claims live in
 * `$TMPDIR/berth-port-claims`, one folder per half hour, and folders older than an hour are removed.
 */
export async function freePort(options: FreePortOptions | string = {}): Promise<number> {
  const { host = '127.0.0.1', claimDir = defaultClaimDir() } = typeof options === 'string' ? { host: options } : options;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const port = await kernelPort(host);
    if (await claimPort(claimDir, port)) return port;
  }
  throw new Error(`no unclaimed TCP port on ${host} after ${ATTEMPTS} tries (claims in ${claimDir})`);
}

function defaultClaimDir(): string {
  return path.join(os.tmpdir(), 'berth-port-claims');
}

/**
 * Claims `port` for this caller: false when another caller claimed it in this window or the one before (or the
 * next, across a window's end). A claim is created (exclusively) before the neighbouring windows are looked at, so
 * of two callers racing for a port in adjacent windows at least one sees the other's claim; both may back off,
 * never both succeed. Where claims cannot be written at all (a folder of another user), the port is handed out
 * unclaimed, as the kernel picked it.
 */
export async function claimPort(dir: string, port: number, now = Date.now()): Promise<boolean> {
  const window = Math.floor(now / CLAIM_WINDOW_MS);
  const windowDir = path.join(dir, String(window));
  const mine = path.join(windowDir, String(port));
  try {
    // The first claim of a window creates its folder (and the claims folder, the first time): every user may add
    // claims to both (sticky, like /tmp), and the windows that no longer count go.
    if ((await fs.mkdir(windowDir, { recursive: true })) !== undefined) {
      for (const folder of [dir, windowDir]) await fs.chmod(folder, 0o1777).catch(() => undefined);
      await removeOldWindows(dir, window);
    }
    await fs.writeFile(mine, `${process.pid}\n`, { flag: 'wx' });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return true;
    throw error;
  }
  for (const neighbour of [window - 1, window + 1]) {
    if (await exists(path.join(dir, String(neighbour), String(port)))) {
      await fs.rm(mine, { force: true });
      return false;
    }
  }
  return true;
}

async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(
    () => true,
    () => false,
  );
}

/** Windows before the previous one hold no claim that counts any more. Best effort: another user's stay. */
async function removeOldWindows(dir: string, window: number): Promise<void> {
  for (const name of await fs.readdir(dir).catch(() => [] as string[])) {
    const old = Number(name);
    if (Number.isInteger(old) && old < window - 1) await fs.rm(path.join(dir, name), { recursive: true, force: true }).catch(() => undefined);
  }
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
