import { promises as fs } from 'node:fs';
import path from 'node:path';
import { SeededRandom } from './random';

export interface MutationSpec {
  /** Default 2 (a different seed than the tree's, so the changes do not repeat its content). */
  readonly seed?: number;
  /** Small files rewritten with new content (and size). Default 10. */
  readonly edit?: number;
  /** New small files. Default 20. */
  readonly add?: number;
  /** Small files deleted. Default 10. */
  readonly delete?: number;
  /** Bytes overwritten in the middle of the first large file, size unchanged. Default 64 KiB. */
  readonly patchLargeBytes?: number;
  /** Names of the new files: this prefix, a 4-digit number, `.dat`. Default `added-` (a second mutation needs another). */
  readonly addedPrefix?: string;
}

export interface TreeChanges {
  /** Paths relative to the tree's root. */
  readonly edited: readonly string[];
  readonly added: readonly string[];
  readonly deleted: readonly string[];
  readonly patched: readonly { readonly path: string; readonly offset: number; readonly length: number }[];
  /** Bytes of new content written (edits, additions, patch). */
  readonly bytesWritten: number;
}

/**
 * Changes a tree made by generateSampleTree() the way a day of use would: edits, additions, deletions in
 * `many-small/`, and a few bytes overwritten in the middle of a large file (the case the delta transfer is for).
 */
export async function mutateSampleTree(root: string, spec: MutationSpec = {}): Promise<TreeChanges> {
  const random = new SeededRandom(spec.seed ?? 2);
  const smallDir = path.join(root, 'many-small');
  const names = (await fs.readdir(smallDir)).sort();
  const chosen = random.sample(names, (spec.edit ?? 10) + (spec.delete ?? 10));
  const toEdit = chosen.slice(0, spec.edit ?? 10);
  const toDelete = chosen.slice(spec.edit ?? 10);
  let bytesWritten = 0;

  for (const name of toEdit) {
    const content = random.bytes(random.int(256, 8192));
    await fs.writeFile(path.join(smallDir, name), content);
    bytesWritten += content.length;
  }
  for (const name of toDelete) await fs.unlink(path.join(smallDir, name));
  const added: string[] = [];
  for (let i = 0; i < (spec.add ?? 20); i++) {
    const name = `${spec.addedPrefix ?? 'added-'}${String(i).padStart(4, '0')}.dat`;
    const content = random.bytes(random.int(256, 8192));
    await fs.writeFile(path.join(smallDir, name), content, { flag: 'wx' });
    bytesWritten += content.length;
    added.push(`many-small/${name}`);
  }

  const patched: { path: string; offset: number; length: number }[] = [];
  const patchBytes = spec.patchLargeBytes ?? 64 * 1024;
  const large = 'large/large-0.bin';
  const largeStat = await fs.stat(path.join(root, large)).catch(() => null);
  if (patchBytes > 0 && largeStat !== null && largeStat.size > patchBytes) {
    const offset = Math.floor((largeStat.size - patchBytes) / 2);
    const handle = await fs.open(path.join(root, large), 'r+');
    try {
      await handle.write(random.bytes(patchBytes), 0, patchBytes, offset);
    } finally {
      await handle.close();
    }
    patched.push({ path: large, offset, length: patchBytes });
    bytesWritten += patchBytes;
  }

  return {
    edited: toEdit.map((n) => `many-small/${n}`),
    added,
    deleted: toDelete.map((n) => `many-small/${n}`),
    patched,
    bytesWritten,
  };
}
