import { link, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** A small tree with the usual cases: nested dirs, an empty dir and file, a symlink, a hard link, a 3 MiB file. */
export async function makeSampleTree(root: string): Promise<void> {
  await mkdir(join(root, 'etc', 'app'), { recursive: true });
  await mkdir(join(root, 'home', 'alice', 'empty-dir'), { recursive: true });
  await writeFile(join(root, 'etc', 'hosts'), '127.0.0.1 localhost\n');
  await writeFile(join(root, 'etc', 'app', 'config.json'), JSON.stringify({ a: 1 }));
  await writeFile(join(root, 'home', 'alice', 'empty-file'), '');
  await writeFile(join(root, 'home', 'alice', '-leading dash'), 'dash');
  await writeFile(join(root, 'home', 'alice', 'big.bin'), Buffer.alloc(3 * 1024 * 1024 + 17, 0x5a));
  await symlink('../etc/hosts', join(root, 'home', 'alice', 'hosts-link'));
  await link(join(root, 'etc', 'hosts'), join(root, 'home', 'alice', 'hosts-hard'));
  for (let i = 0; i < 40; i++) await writeFile(join(root, 'home', `f${String(i).padStart(2, '0')}.txt`), `file ${i}\n`.repeat(i + 1));
}
