import { type RepositoryApi } from '@berth/repository';
import { open, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

/** Overwrites `length` random bytes at `offset` in place (new mtime and ctime: the quick check fails). */
export async function overwrite(path: string, offset: number, length: number): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    await handle.write(randomBytes(length), 0, length, offset);
  } finally {
    await handle.close();
  }
}

/** Flips a byte of `needle`'s first occurrence in the pack files of the repository at `repositoryDir` (a bad sector, say). */
export async function damageOnDisk(repositoryDir: string, needle: Buffer): Promise<boolean> {
  const packs = join(repositoryDir, 'packs');
  for (const shard of await readdir(packs)) {
    for (const name of (await readdir(join(packs, shard))).filter((n) => n.endsWith('.pack'))) {
      const path = join(packs, shard, name);
      const bytes = await readFile(path);
      const at = bytes.indexOf(needle);
      if (at < 0) continue;
      bytes[at + 10] = (bytes[at + 10] as number) ^ 0xff;
      await writeFile(path, bytes);
      return true;
    }
  }
  return false;
}

/** The repository with one method replaced (an injected fault); `replace` gets the original, bound. */
export function replaceMethod<K extends keyof RepositoryApi>(repository: RepositoryApi, name: K, replace: (original: RepositoryApi[K]) => RepositoryApi[K]): RepositoryApi {
  return new Proxy(repository, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      const bound = typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      return property === name ? replace(bound as RepositoryApi[K]) : bound;
    },
  });
}
