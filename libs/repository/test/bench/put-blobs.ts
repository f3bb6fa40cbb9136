/**
 * Rough write-path figures for the repository: many small blobs then one flush, the receiver's 26,000-file
 * directory through ContentWriter plus its tree, and a read-back. Run:
 *   node -r @swc-node/register libs/repository/test/bench/put-blobs.ts [DIR]
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Repository } from '../../src/repository';
import { type TreeEntry, TreeEntryType } from '../../src/model';

async function timed<T>(label: string, bytes: number, run: () => Promise<T>): Promise<T> {
  const start = process.hrtime.bigint();
  const result = await run();
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  const rate = bytes > 0 ? `, ${(bytes / 1024 / 1024 / (ms / 1000)).toFixed(0)} MiB/s` : '';
  process.stdout.write(`${label}: ${ms.toFixed(0)} ms${rate}\n`);
  return result;
}

async function main(): Promise<void> {
  const dir = process.argv[2] ?? (await mkdtemp(join(tmpdir(), 'berth-repo-bench-')));
  try {
    const repo = await Repository.open(join(dir, 'repo'));
    const blobs = Array.from({ length: 30_000 }, () => randomBytes(4096));
    await timed('30,000 x 4 KiB putBlob + 1 flush', 30_000 * 4096, async () => {
      for (const blob of blobs) await repo.putBlob(blob);
      await repo.flush();
    });
    await timed('30,000 x 4 KiB putBlob again (all deduplicated)', 0, async () => {
      for (const blob of blobs) await repo.putBlob(blob);
      await repo.flush();
    });

    const sizes = Array.from({ length: 26_000 }, (_, i) => 512 + ((i * 7919) % (8 * 1024 - 512)));
    const total = sizes.reduce((a, b) => a + b, 0);
    const files = sizes.map((size) => randomBytes(size));
    await timed(`26,000 files of 0.5-8 KiB (${(total / 1024 / 1024).toFixed(0)} MiB) via ContentWriter + tree + flush`, total, async () => {
      const entries: TreeEntry[] = [];
      for (const [i, data] of files.entries()) {
        const writer = repo.createContentWriter();
        await writer.write(data);
        const { content, size } = await writer.finish();
        entries.push({ name: Buffer.from(`file-${String(i).padStart(6, '0')}`), type: TreeEntryType.File, mode: 0o100644, uid: 1000, gid: 1000, mtimeNs: 1n, ctimeNs: 1n, ino: BigInt(i), dev: 1n, size, nlink: 1, rdev: 0n, linkTarget: null, subtree: null, content });
      }
      const tree = await repo.putTree({ entries });
      await repo.flush();
      return tree;
    });
    await timed('read back 30,000 x 4 KiB (verified)', 30_000 * 4096, async () => {
      for (const blob of blobs) {
        const { id } = await repo.putBlob(blob);
        await repo.readBlob(id);
      }
    });
    await repo.close();
    await timed('reopen (load indexes)', 0, async () => (await Repository.open(join(dir, 'repo'))).close());
  } finally {
    if (!process.argv[2]) await rm(dir, { recursive: true, force: true });
  }
}

void main();
