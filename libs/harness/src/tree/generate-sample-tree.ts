import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { SeededRandom } from './random';

const execFileAsync = promisify(execFile);

export interface SampleTreeSpec {
  /** Same seed, same names, sizes, contents and modes. Default 1. */
  readonly seed?: number;
  /** Small files, all in one directory (`many-small/`): the case that hurts. Default 2000. */
  readonly smallFiles?: number;
  /** Size range of the small files in bytes. Default 256..8192. */
  readonly smallFileBytes?: { readonly min: number; readonly max: number };
  /** Large files in `large/`. Default 3. */
  readonly largeFiles?: number;
  /** Size of each large file. Default 6 MiB. */
  readonly largeFileBytes?: number;
  /** Adds `large/copy-of-large-0.bin`, identical to `large-0.bin`, so dedup has something to find. Default true. */
  readonly duplicateLargeFile?: boolean;
  /** `nested/` tree: depth and directories per level, 3 files in each. Default 4 and 2. */
  readonly nestedDepth?: number;
  readonly nestedBreadth?: number;
  /** Symlinks in `links/`: relative, absolute, dangling, to a directory, ... Default 6. */
  readonly symlinks?: number;
  /** Hard-link groups (2 or 3 names each, across directories). Default 3. */
  readonly hardLinkGroups?: number;
  /** Empty file and empty directory. Default true. */
  readonly emptyEntries?: boolean;
  /** setuid/setgid/sticky and unusual permission bits, an old mtime; other uid/gid when root. Default true. */
  readonly specialModes?: boolean;
  /**
   * The hard cases of a backup tool: names as raw non-UTF-8 bytes, with newline/tab, 255 bytes long, with a
   * leading dash; a tree 100 levels deep; a sparse file; a FIFO; device nodes (root only). Default false.
   */
  readonly edgeCases?: boolean;
}

export interface SampleTreeSummary {
  readonly root: string;
  /** Regular-file names (a hard-linked inode counts once per name). */
  readonly files: number;
  readonly dirs: number;
  readonly symlinks: number;
  /** FIFOs and device nodes. */
  readonly specials: number;
  /** Sum of the sizes of all regular-file names. */
  readonly bytes: number;
  readonly smallFilesDir: string;
  readonly largeFiles: readonly string[];
  /** What could not be created here, and why (e.g. device nodes without root). */
  readonly skipped: readonly string[];
}

const MiB = 1024 * 1024;

class TreeBuilder {
  files = 0;
  dirs = 0;
  symlinks = 0;
  specials = 0;
  bytes = 0;
  readonly skipped: string[] = [];

  constructor(
    readonly root: string,
    readonly random: SeededRandom,
  ) {}

  abs(relative: string | Buffer): Buffer {
    return Buffer.concat([Buffer.from(this.root), Buffer.from('/'), typeof relative === 'string' ? Buffer.from(relative) : relative]);
  }

  async dir(relative: string | Buffer, mode = 0o755): Promise<void> {
    await fs.mkdir(this.abs(relative), { mode });
    await fs.chmod(this.abs(relative), mode);
    this.dirs += 1;
  }

  async file(relative: string | Buffer, content: Buffer, mode = 0o644): Promise<void> {
    await fs.writeFile(this.abs(relative), content, { mode });
    await fs.chmod(this.abs(relative), mode);
    this.files += 1;
    this.bytes += content.length;
  }

  async symlink(relative: string, target: string): Promise<void> {
    await fs.symlink(target, this.abs(relative));
    this.symlinks += 1;
  }

  async hardLink(existing: string, relative: string): Promise<void> {
    await fs.link(this.abs(existing), this.abs(relative));
    const stat = await fs.stat(this.abs(existing));
    this.files += 1;
    this.bytes += stat.size;
  }
}

async function inBatches<T>(items: readonly T[], size: number, work: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(work));
}

const isRoot = (): boolean => process.getuid?.() === 0;

/**
 * Writes a deterministic sample tree under `root` (which must not exist or be empty). Used by the demo,
 * the end-to-end tests and the benchmarks, and checked against restores with compareTrees().
 */
export async function generateSampleTree(root: string, spec: SampleTreeSpec = {}): Promise<SampleTreeSummary> {
  const absoluteRoot = path.resolve(root);
  await fs.mkdir(absoluteRoot, { recursive: true });
  if ((await fs.readdir(absoluteRoot)).length > 0) throw new Error(`generateSampleTree: ${absoluteRoot} is not empty`);
  const b = new TreeBuilder(absoluteRoot, new SeededRandom(spec.seed ?? 1));
  const random = b.random;

  // Many small files in one directory.
  const smallCount = spec.smallFiles ?? 2000;
  const smallRange = spec.smallFileBytes ?? { min: 256, max: 8192 };
  await b.dir('many-small');
  const small = Array.from({ length: smallCount }, (_, i) => ({ name: `many-small/file-${String(i).padStart(6, '0')}.dat`, content: random.bytes(random.int(smallRange.min, smallRange.max)) }));
  await inBatches(small, 64, (f) => b.file(f.name, f.content));

  // A few large files, and an identical copy of the first for dedup.
  const largeFiles: string[] = [];
  await b.dir('large');
  for (let i = 0; i < (spec.largeFiles ?? 3); i++) {
    const name = `large/large-${i}.bin`;
    await b.file(name, random.bytes(spec.largeFileBytes ?? 6 * MiB));
    largeFiles.push(name);
  }
  if ((spec.duplicateLargeFile ?? true) && largeFiles.length > 0) {
    await b.file('large/copy-of-large-0.bin', await fs.readFile(b.abs('large/large-0.bin')));
  }

  // Nested directories with a few files each.
  await b.dir('nested');
  const nest = async (parent: string, depth: number): Promise<void> => {
    for (let i = 0; i < 3; i++) await b.file(`${parent}/f${i}.txt`, Buffer.from(`${parent} file ${i}\n`.repeat(random.int(1, 40))));
    if (depth === 0) return;
    for (let i = 0; i < (spec.nestedBreadth ?? 2); i++) {
      const child = `${parent}/d${i}`;
      await b.dir(child);
      await nest(child, depth - 1);
    }
  };
  await nest('nested', spec.nestedDepth ?? 4);

  await addLinks(b, spec, largeFiles);
  if (spec.emptyEntries ?? true) {
    await b.file('empty-file', Buffer.alloc(0));
    await b.dir('empty-dir');
  }
  if (spec.specialModes ?? true) await addSpecialModes(b);
  if (spec.edgeCases ?? false) await addEdgeCases(b);

  return {
    root: absoluteRoot,
    files: b.files,
    dirs: b.dirs,
    symlinks: b.symlinks,
    specials: b.specials,
    bytes: b.bytes,
    smallFilesDir: path.join(absoluteRoot, 'many-small'),
    largeFiles: largeFiles.map((f) => path.join(absoluteRoot, f)),
    skipped: b.skipped,
  };
}

async function addLinks(b: TreeBuilder, spec: SampleTreeSpec, largeFiles: readonly string[]): Promise<void> {
  await b.dir('links');
  const targets: [string, string][] = [
    ['links/to-file', '../nested/f0.txt'],
    ['links/to-dir', '../nested/d0'],
    ['links/absolute', '/etc/hostname'],
    ['links/dangling', 'does-not-exist'],
    ['links/to-self-dir', '.'],
    ['links/long-target', `${'x/'.repeat(200)}end`],
  ];
  const count = spec.symlinks ?? 6;
  for (let i = 0; i < count; i++) {
    const [name, target] = targets[i % targets.length] as [string, string];
    await b.symlink(i < targets.length ? name : `${name}-${i}`, target);
  }
  const groups = spec.hardLinkGroups ?? 3;
  for (let g = 0; g < groups; g++) {
    const original = `nested/f${g % 3}.txt`;
    await b.hardLink(original, `links/hard-${g}-a`);
    if (g % 2 === 0) await b.hardLink(original, `links/hard-${g}-b`);
  }
  if (groups > 0 && largeFiles[0] !== undefined) await b.hardLink(largeFiles[0], 'links/hard-large');
}

async function addSpecialModes(b: TreeBuilder): Promise<void> {
  await b.dir('modes');
  await b.file('modes/setuid', Buffer.from('#!/bin/sh\n'), 0o4755);
  await b.file('modes/setgid', Buffer.from('#!/bin/sh\n'), 0o2755);
  await b.file('modes/private', Buffer.from('secret\n'), 0o600);
  await b.file('modes/read-only', Buffer.from('read only\n'), 0o444);
  await b.dir('modes/sticky-dir', 0o1777);
  await b.dir('modes/setgid-dir', 0o2775);
  // Read-only directory with content: a restore has to set directory modes after writing the children.
  await b.dir('modes/read-only-dir');
  await b.file('modes/read-only-dir/inside', Buffer.from('inside a read-only directory\n'));
  await fs.chmod(b.abs('modes/read-only-dir'), 0o555);
  await b.file('modes/old-mtime', Buffer.from('from 1999\n'));
  await fs.utimes(b.abs('modes/old-mtime'), 946_684_799, 946_684_799);
  if (isRoot()) {
    // Unreadable to anyone but root, which reads it anyway.
    await b.file('modes/no-permissions', Buffer.from('none\n'), 0o000);
    await b.file('modes/other-owner', Buffer.from('owned by 1234:5678\n'));
    await fs.lchown(b.abs('modes/other-owner'), 1234, 5678);
    await b.symlink('modes/other-owner-link', 'other-owner');
    await fs.lchown(b.abs('modes/other-owner-link'), 4321, 8765);
  } else {
    b.skipped.push('mode 000 file and files owned by other uid/gid: not running as root');
  }
}

async function addEdgeCases(b: TreeBuilder): Promise<void> {
  await b.dir('names');
  const names: Buffer[] = [
    Buffer.from([0x6c, 0x61, 0x74, 0x69, 0x6e, 0x31, 0x2d, 0xe9, 0xff, 0xfe]), // not UTF-8
    Buffer.from('new\nline'),
    Buffer.from('tab\there'),
    Buffer.from('-rf'),
    Buffer.from('--help'),
    Buffer.from(' leading and trailing space '),
    Buffer.from('ünïcødé-名前'),
    Buffer.from('n'.repeat(255)),
    Buffer.from('back\\slash'),
  ];
  for (const name of names) await b.file(Buffer.concat([Buffer.from('names/'), name]), Buffer.concat([Buffer.from('name: '), name, Buffer.from('\n')]));

  let deep = 'deep';
  await b.dir(deep);
  for (let level = 1; level < 100; level++) {
    deep += '/d';
    await b.dir(deep);
  }
  await b.file(`${deep}/bottom.txt`, Buffer.from('100 levels down\n'));

  // Sparse: data at both ends of 8 MiB, a hole between.
  const sparse = await fs.open(b.abs('sparse.bin'), 'w', 0o644);
  try {
    await sparse.write(Buffer.from('start of a sparse file\n'), 0, undefined, 0);
    await sparse.write(Buffer.from('end of a sparse file\n'), 0, undefined, 8 * MiB - 21);
  } finally {
    await sparse.close();
  }
  b.files += 1;
  b.bytes += 8 * MiB;

  await b.dir('special');
  try {
    await execFileAsync('mkfifo', ['-m', '0640', '--', b.abs('special/fifo').toString()]);
    b.specials += 1;
  } catch (error) {
    b.skipped.push(`FIFO: ${(error as Error).message.split('\n')[0] ?? ''}`);
  }
  if (!isRoot()) {
    b.skipped.push('device nodes: not running as root');
    return;
  }
  for (const [name, type, major, minor] of [
    ['char-null', 'c', '1', '3'],
    ['block-loop', 'b', '7', '200'],
  ] as const) {
    try {
      await execFileAsync('mknod', ['-m', '0600', '--', b.abs(`special/${name}`).toString(), type, major, minor]);
      b.specials += 1;
    } catch (error) {
      b.skipped.push(`device node ${name}: ${(error as Error).message.split('\n')[0] ?? ''}`);
    }
  }
}
