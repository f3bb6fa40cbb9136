/**
 * The benchmark's source tree: the shape, deterministic, written fast (AES-CTR keystream contents).
 *
 *   many-small/   N files of 0.5-8 KiB in one directory (generateSampleTree)
 *   large/        two 64 MiB files (generateSampleTree)
 *   tree/         about 4,000 files in 40 packages x 5 modules, 256 B - 32 KiB each (log-uniform sizes)
 *   nested/, links/, empty-file, empty-dir: the sample tree's small extras
 *
 * No hard links: `rsync -a` (the command the issue names) does not keep them, Berth does, and a hard link to a
 * 64 MiB file would make rsync send 64 MiB more for a reason that is not speed.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { generateSampleTree, mutateSampleTree, SeededRandom } from '@berth/harness';
import { type BenchOptions } from './options';

const MiB = 1024 * 1024;
const PACKAGES = 40;
const MODULES_PER_PACKAGE = 5;
/** A day's changes overwrite this much inside each large file. */
const LARGE_PATCH_BYTES = 4096;

export interface TreeCensus {
  readonly files: number;
  readonly dirs: number;
  readonly symlinks: number;
  /** Sum of the sizes of the regular files. */
  readonly bytes: number;
  /** Sum of the symlinks' target lengths (rsync's "Total file size" counts them). */
  readonly symlinkBytes: number;
}

export interface DayOfChanges {
  readonly edited: number;
  readonly added: number;
  readonly deleted: number;
  readonly renamedDir: { readonly from: string; readonly to: string; readonly files: number; readonly bytes: number };
  readonly patchedLarge: number;
  /** New content written (edits, additions, large-file patches); the renamed directory is not new content. */
  readonly bytesWritten: number;
}

export async function generateSourceTree(root: string, options: BenchOptions): Promise<TreeCensus> {
  await generateSampleTree(root, {
    seed: 1,
    smallFiles: options.smallFiles,
    smallFileBytes: { min: 512, max: 8192 },
    largeFiles: options.largeFiles,
    largeFileBytes: options.largeMiB * MiB,
    duplicateLargeFile: false,
    nestedDepth: 0,
    hardLinkGroups: 0,
    specialModes: false,
    edgeCases: false,
  });
  await writePackageTree(path.join(root, 'tree'), options.treeFiles);
  return census(root);
}

/** `files` files spread evenly over 40 packages of 5 modules each. */
async function writePackageTree(dir: string, files: number): Promise<void> {
  if (files === 0) return;
  const random = new SeededRandom(3);
  await fs.mkdir(dir);
  const leaves = PACKAGES * MODULES_PER_PACKAGE;
  const writes: { file: string; bytes: number }[] = [];
  for (let p = 0; p < PACKAGES; p++) {
    const pkg = path.join(dir, `pkg-${String(p).padStart(2, '0')}`);
    await fs.mkdir(pkg);
    for (let m = 0; m < MODULES_PER_PACKAGE; m++) {
      const moduleDir = path.join(pkg, `module-${m}`);
      await fs.mkdir(moduleDir);
      const leaf = p * MODULES_PER_PACKAGE + m;
      const count = Math.floor((files * (leaf + 1)) / leaves) - Math.floor((files * leaf) / leaves);
      for (let f = 0; f < count; f++) {
        // Log-uniform from 256 B to 32 KiB: many small sources, a few larger ones.
        writes.push({ file: path.join(moduleDir, `source-${String(f).padStart(3, '0')}.bin`), bytes: Math.round(256 * 2 ** (7 * (random.nextUint32() / 2 ** 32))) });
      }
    }
  }
  for (let i = 0; i < writes.length; i += 64) {
    await Promise.all(writes.slice(i, i + 64).map((w) => fs.writeFile(w.file, random.bytes(w.bytes))));
  }
}

/**
 * Which day of changes: `measured` is case 3's; `earlier` is the untimed day before it that `--warm-day` runs, with
 * other files, other new names, other bytes in the large files and another directory renamed, so the measured day
 * still changes as much.
 */
export type ChangeDay = 'earlier' | 'measured';

const DAYS: Record<ChangeDay, { seed: number; largeSeed: number; addedPrefix: string; renamed: (packages: readonly string[]) => string | undefined }> = {
  measured: { seed: 2, largeSeed: 4, addedPrefix: 'added-', renamed: (packages) => packages[Math.floor(packages.length / 2)] },
  earlier: { seed: 9, largeSeed: 11, addedPrefix: 'earlier-', renamed: (packages) => packages[0] },
};

/**
 * A day's changes: 1% of the small files edited, 100 added, 100 deleted (mutateSampleTree), a directory of the
 * nested tree renamed, and 4 KiB overwritten inside each large file (size unchanged).
 */
export async function applyDayOfChanges(root: string, options: BenchOptions, which: ChangeDay = 'measured'): Promise<DayOfChanges> {
  const day = DAYS[which];
  const edit = Math.max(1, Math.round(options.smallFiles / 100));
  const changes = await mutateSampleTree(root, { seed: day.seed, edit, add: 100, delete: 100, patchLargeBytes: LARGE_PATCH_BYTES, addedPrefix: day.addedPrefix });
  let bytesWritten = changes.bytesWritten;
  let patchedLarge = changes.patched.length;
  // mutateSampleTree patches the first large file in its middle; the others get theirs at a third.
  const random = new SeededRandom(day.largeSeed);
  for (let i = 1; i < options.largeFiles; i++) {
    const file = path.join(root, 'large', `large-${i}.bin`);
    const size = (await fs.stat(file)).size;
    if (size <= LARGE_PATCH_BYTES) continue;
    const handle = await fs.open(file, 'r+');
    try {
      await handle.write(random.bytes(LARGE_PATCH_BYTES), 0, LARGE_PATCH_BYTES, Math.floor(size / 3));
    } finally {
      await handle.close();
    }
    bytesWritten += LARGE_PATCH_BYTES;
    patchedLarge += 1;
  }
  const renamedDir = await renameOnePackage(root, day.renamed);
  return { edited: changes.edited.length, added: changes.added.length, deleted: changes.deleted.length, renamedDir, patchedLarge, bytesWritten };
}

async function renameOnePackage(root: string, pick: (packages: readonly string[]) => string | undefined): Promise<DayOfChanges['renamedDir']> {
  const packages = (await fs.readdir(path.join(root, 'tree')).catch(() => [] as string[])).sort();
  const chosen = pick(packages);
  if (chosen === undefined) return { from: '', to: '', files: 0, bytes: 0 };
  const from = path.join('tree', chosen);
  const to = path.join('tree', `${chosen}-renamed`);
  const counted = await census(path.join(root, from));
  await fs.rename(path.join(root, from), path.join(root, to));
  return { from, to, files: counted.files, bytes: counted.bytes };
}

/** Files of --warm-link's untimed backup: small ones and one over a content chunk, none shared with the source tree. */
const WARM_UP_SMALL_FILES = 40;
const WARM_UP_LARGE_BYTES = 2 * MiB;

/** Writes the directory --warm-link backs up before case 4 (about 3 MiB); returns its census. */
export async function writeWarmUpDirectory(dir: string): Promise<TreeCensus> {
  const random = new SeededRandom(0x5a17);
  await fs.mkdir(dir, { recursive: true });
  for (let i = 0; i < WARM_UP_SMALL_FILES; i++) {
    await fs.writeFile(path.join(dir, `warm-${String(i).padStart(2, '0')}.bin`), random.bytes(random.int(1024, 64 * 1024)));
  }
  await fs.writeFile(path.join(dir, 'warm-large.bin'), random.bytes(WARM_UP_LARGE_BYTES));
  return census(dir);
}

/** Regular files, directories (the root excluded) and symlinks under `root`, without following links. */
export async function census(root: string): Promise<TreeCensus> {
  let files = 0;
  let dirs = 0;
  let symlinks = 0;
  let bytes = 0;
  let symlinkBytes = 0;
  const visit = async (dir: string): Promise<void> => {
    const entries = await fs.readdir(dir, { withFileTypes: true });
    const sizes = await Promise.all(entries.filter((e) => e.isFile()).map(async (e) => (await fs.lstat(path.join(dir, e.name))).size));
    files += sizes.length;
    for (const size of sizes) bytes += size;
    for (const entry of entries) {
      if (entry.isSymbolicLink()) {
        symlinks += 1;
        symlinkBytes += (await fs.readlink(path.join(dir, entry.name), { encoding: 'buffer' })).length;
      }
      if (entry.isDirectory()) {
        dirs += 1;
        await visit(path.join(dir, entry.name));
      }
    }
  };
  await visit(root);
  return { files, dirs, symlinks, bytes, symlinkBytes };
}
