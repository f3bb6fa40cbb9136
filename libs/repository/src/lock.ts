import { randomBytes } from 'node:crypto';
import { open, readFile, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { isErrno } from './durable-fs';
import { RepositoryLockedError } from './errors';

const JUST_CREATED_MS = 2000;

interface LockContent {
  readonly pid: number;
  readonly host: string;
  readonly token: string;
  readonly since: string;
}

/**
 * Exclusive lock on a repository: a file created with O_EXCL holding the owner's pid, host and a random
 * token. A lock left by a dead process on this host is taken over; a live owner (or one on another host,
 * whose pid cannot be checked) makes open fail with RepositoryLockedError.
 */
export class RepositoryLock {
  private constructor(
    readonly path: string,
    private readonly token: string,
  ) {}

  static async acquire(path: string): Promise<RepositoryLock> {
    const mine: LockContent = { pid: process.pid, host: hostname(), token: randomBytes(16).toString('hex'), since: new Date().toISOString() };
    for (let attempt = 0; attempt < 3; attempt++) {
      if (await tryCreate(path, mine)) {
        // Two processes taking over the same stale lock can both get here; only the one whose token is in the file wins.
        const owner = await readLock(path);
        if (typeof owner === 'object' && owner?.token === mine.token) return new RepositoryLock(path, mine.token);
        break;
      }
      const owner = await readLock(path);
      if (owner === 'unreadable') {
        // Its creator is between create and write, or died there; only the second is worth taking over.
        if (await youngerThan(path, JUST_CREATED_MS)) throw new RepositoryLockedError(path, null, 'another process is taking the lock right now');
        await rm(path, { force: true });
        continue;
      }
      if (owner === null) continue;
      if (owner.host !== mine.host) {
        throw new RepositoryLockedError(path, owner.pid, `held by pid ${owner.pid} on host ${owner.host} since ${owner.since}; if that process is gone, remove the lock file`);
      }
      if (isAlive(owner.pid)) throw new RepositoryLockedError(path, owner.pid, `held by live pid ${owner.pid} since ${owner.since}`);
      await rm(path, { force: true });
    }
    const owner = await readLock(path);
    throw new RepositoryLockedError(path, typeof owner === 'object' && owner !== null ? owner.pid : null, 'another process took the lock at the same time');
  }

  /** Removes the lock file if it is still ours. */
  async release(): Promise<void> {
    const owner = await readLock(this.path);
    if (typeof owner === 'object' && owner?.token === this.token) await rm(this.path, { force: true });
  }
}

async function tryCreate(path: string, content: LockContent): Promise<boolean> {
  let handle;
  try {
    handle = await open(path, 'wx', 0o644);
  } catch (error) {
    if (isErrno(error, 'EEXIST')) return false;
    throw error;
  }
  try {
    await handle.writeFile(`${JSON.stringify(content)}\n`);
  } finally {
    await handle.close();
  }
  return true;
}

/** The lock's content; null when there is no lock file; 'unreadable' when it is empty or garbled. */
async function readLock(path: string): Promise<LockContent | null | 'unreadable'> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return null;
    throw error;
  }
  try {
    const parsed = JSON.parse(text) as Partial<LockContent>;
    if (typeof parsed.pid === 'number' && typeof parsed.host === 'string' && typeof parsed.token === 'string') {
      return { pid: parsed.pid, host: parsed.host, token: parsed.token, since: String(parsed.since) };
    }
    return 'unreadable';
  } catch {
    return 'unreadable';
  }
}

async function youngerThan(path: string, ms: number): Promise<boolean> {
  try {
    return Date.now() - (await stat(path)).mtimeMs < ms;
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return false;
    throw error;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return !isErrno(error, 'ESRCH');
  }
}
