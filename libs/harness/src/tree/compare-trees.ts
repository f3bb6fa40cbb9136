import { type BigIntStats, promises as fs } from 'node:fs';
import { displayPath, joinRaw } from './display-path';

export type DifferenceKind =
  | 'missing' // in the expected tree only
  | 'extra' // in the actual tree only
  | 'type'
  | 'size'
  | 'content'
  | 'mode'
  | 'uid'
  | 'gid'
  | 'mtime'
  | 'symlink-target'
  | 'hard-links'
  | 'device';

export interface TreeDifference {
  /** Relative path, raw bytes shown with \xNN escapes where not printable UTF-8. */
  readonly path: string;
  readonly kind: DifferenceKind;
  readonly expected: string;
  readonly actual: string;
}

export interface CompareOptions {
  /** Largest mtime difference still counted as equal. Default 0 (exact to the nanosecond). */
  readonly mtimeToleranceNs?: bigint;
  /** Compare mtimes of directories (the roots' own are never compared). Default true. */
  readonly directoryMtimes?: boolean;
  /** Compare mtimes of symlinks themselves (lutimes). Default true. */
  readonly symlinkMtimes?: boolean;
  /** Compare numeric uid and gid. Default true. */
  readonly ownership?: boolean;
  /** Stop collecting after this many differences (the count of entries stays right). Default 1000. */
  readonly maxDifferences?: number;
}

export interface TreeComparison {
  /** True when no difference was found. */
  readonly equal: boolean;
  readonly differences: readonly TreeDifference[];
  /** True when more differences exist than were collected. */
  readonly truncated: boolean;
  /** Entries of the expected tree compared (the root excluded). */
  readonly entries: number;
  readonly files: number;
  readonly bytes: number;
  /**
   * What the mtimes show about precision: entries whose mtime matched to the nanosecond, and the largest
   * deviation seen among those within tolerance (0 when all were exact).
   */
  readonly mtime: { readonly compared: number; readonly exact: number; readonly maxDeviationNs: bigint };
}

interface Entry {
  readonly rel: Buffer;
  readonly stat: BigIntStats;
}

const TYPE_MASK = 0o170000n;
const TYPE_NAMES: Record<string, string> = {
  [String(0o100000)]: 'file',
  [String(0o040000)]: 'directory',
  [String(0o120000)]: 'symlink',
  [String(0o010000)]: 'fifo',
  [String(0o020000)]: 'char-device',
  [String(0o060000)]: 'block-device',
  [String(0o140000)]: 'socket',
};

function typeName(stat: BigIntStats): string {
  return TYPE_NAMES[String(Number(stat.mode & TYPE_MASK))] ?? 'unknown';
}

function rawPath(root: Buffer, rel: Buffer): Buffer {
  return rel.length === 0 ? root : Buffer.concat([root, Buffer.from('/'), rel]);
}

/** Every entry under root (root excluded), in byte order of path, without following symlinks. */
async function walk(root: Buffer): Promise<Map<string, Entry>> {
  const entries = new Map<string, Entry>();
  const visit = async (rel: Buffer): Promise<void> => {
    const names = (await fs.readdir(rawPath(root, rel), { encoding: 'buffer' })).sort((x, y) => Buffer.compare(x, y));
    const children = await Promise.all(
      names.map(async (name) => {
        const childRel = joinRaw(rel, name);
        return { rel: childRel, stat: await fs.lstat(rawPath(root, childRel), { bigint: true }) };
      }),
    );
    for (const child of children) {
      entries.set(child.rel.toString('latin1'), child);
      if (child.stat.isDirectory()) await visit(child.rel);
    }
  };
  await visit(Buffer.alloc(0));
  return entries;
}

/** Paths sharing an inode with each file, within the tree (links outside it do not count). */
function hardLinkGroups(entries: Map<string, Entry>): Map<string, string> {
  const byInode = new Map<string, string[]>();
  for (const [key, entry] of entries) {
    if (!entry.stat.isFile() || entry.stat.nlink < 2n) continue;
    const inode = `${entry.stat.dev}:${entry.stat.ino}`;
    byInode.set(inode, [...(byInode.get(inode) ?? []), key]);
  }
  const groupOf = new Map<string, string>();
  for (const members of byInode.values()) {
    if (members.length < 2) continue;
    const label = members
      .map((m) => displayPath(Buffer.from(m, 'latin1')))
      .sort()
      .join(', ');
    for (const member of members) groupOf.set(member, label);
  }
  return groupOf;
}

const CHUNK = 1024 * 1024;

async function sameContent(a: Buffer, b: Buffer, size: bigint): Promise<boolean> {
  if (size <= BigInt(CHUNK)) {
    const [ca, cb] = await Promise.all([fs.readFile(a), fs.readFile(b)]);
    return ca.equals(cb);
  }
  const [fa, fb] = await Promise.all([fs.open(a, 'r'), fs.open(b, 'r')]);
  try {
    const ba = Buffer.allocUnsafe(CHUNK);
    const bb = Buffer.allocUnsafe(CHUNK);
    for (let position = 0; ; position += CHUNK) {
      const [ra, rb] = await Promise.all([fa.read(ba, 0, CHUNK, position), fb.read(bb, 0, CHUNK, position)]);
      if (ra.bytesRead !== rb.bytesRead) return false;
      if (ra.bytesRead === 0) return true;
      if (!ba.subarray(0, ra.bytesRead).equals(bb.subarray(0, rb.bytesRead))) return false;
    }
  } finally {
    await Promise.all([fa.close(), fb.close()]);
  }
}

/** Runs `work` over `items` with at most `limit` in flight. */
async function eachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

const octal = (mode: bigint): string => `0${(mode & 0o7777n).toString(8).padStart(4, '0')}`;
const absDiff = (x: bigint, y: bigint): bigint => (x > y ? x - y : y - x);

/**
 * Compares tree `actual` (e.g. a restore) with tree `expected` (the source): entry types, content, size,
 * permission bits including setuid/setgid/sticky, numeric uid/gid, mtime to the nanosecond (or within a
 * tolerance), symlink targets, hard-link groups and device numbers. The two roots' own metadata is not compared.
 */
export async function compareTrees(expected: string, actual: string, options: CompareOptions = {}): Promise<TreeComparison> {
  const tolerance = options.mtimeToleranceNs ?? 0n;
  const max = options.maxDifferences ?? 1000;
  const rootA = Buffer.from(expected);
  const rootB = Buffer.from(actual);
  const [a, b] = await Promise.all([walk(rootA), walk(rootB)]);
  const groupsA = hardLinkGroups(a);
  const groupsB = hardLinkGroups(b);
  const differences: TreeDifference[] = [];
  let truncated = false;
  const report = (rel: Buffer, kind: DifferenceKind, expectedValue: string, actualValue: string): void => {
    if (differences.length >= max) truncated = true;
    else differences.push({ path: displayPath(rel), kind, expected: expectedValue, actual: actualValue });
  };

  const contentChecks: { rel: Buffer; size: bigint }[] = [];
  let files = 0;
  let bytes = 0;
  let mtimeCompared = 0;
  let mtimeExact = 0;
  let maxDeviation = 0n;

  for (const [key, ea] of a) {
    const eb = b.get(key);
    const rel = ea.rel;
    if (eb === undefined) {
      report(rel, 'missing', typeName(ea.stat), '-');
      continue;
    }
    const sa = ea.stat;
    const sb = eb.stat;
    if (typeName(sa) !== typeName(sb)) {
      report(rel, 'type', typeName(sa), typeName(sb));
      continue;
    }
    if ((sa.mode & 0o7777n) !== (sb.mode & 0o7777n)) report(rel, 'mode', octal(sa.mode), octal(sb.mode));
    if (options.ownership ?? true) {
      if (sa.uid !== sb.uid) report(rel, 'uid', String(sa.uid), String(sb.uid));
      if (sa.gid !== sb.gid) report(rel, 'gid', String(sa.gid), String(sb.gid));
    }
    const checkMtime = sa.isDirectory() ? (options.directoryMtimes ?? true) : sa.isSymbolicLink() ? (options.symlinkMtimes ?? true) : true;
    if (checkMtime) {
      mtimeCompared += 1;
      const deviation = absDiff(sa.mtimeNs, sb.mtimeNs);
      if (deviation === 0n) mtimeExact += 1;
      else if (deviation <= tolerance) maxDeviation = deviation > maxDeviation ? deviation : maxDeviation;
      else report(rel, 'mtime', String(sa.mtimeNs), `${sb.mtimeNs} (off by ${deviation} ns)`);
    }
    if (sa.isFile()) {
      files += 1;
      bytes += Number(sa.size);
      if (sa.size !== sb.size) report(rel, 'size', String(sa.size), String(sb.size));
      else contentChecks.push({ rel, size: sa.size });
      const ga = groupsA.get(key) ?? '(not linked)';
      const gb = groupsB.get(key) ?? '(not linked)';
      if (ga !== gb) report(rel, 'hard-links', ga, gb);
    } else if (sa.isSymbolicLink()) {
      const [ta, tb] = await Promise.all([fs.readlink(rawPath(rootA, rel), { encoding: 'buffer' }), fs.readlink(rawPath(rootB, rel), { encoding: 'buffer' })]);
      if (!ta.equals(tb)) report(rel, 'symlink-target', displayPath(ta), displayPath(tb));
    } else if (sa.isCharacterDevice() || sa.isBlockDevice()) {
      if (sa.rdev !== sb.rdev) report(rel, 'device', String(sa.rdev), String(sb.rdev));
    }
  }
  for (const [key, eb] of b) if (!a.has(key)) report(eb.rel, 'extra', '-', typeName(eb.stat));
  // Content last and in parallel: it is where the time goes (thousands of small files).
  const changed: Buffer[] = [];
  await eachLimited(contentChecks, 16, async ({ rel, size }) => {
    if (!(await sameContent(rawPath(rootA, rel), rawPath(rootB, rel), size))) changed.push(rel);
  });
  for (const rel of changed.sort((x, y) => Buffer.compare(x, y))) report(rel, 'content', 'same bytes as the source', 'different bytes');

  return {
    equal: differences.length === 0 && !truncated,
    differences,
    truncated,
    entries: a.size,
    files,
    bytes,
    mtime: { compared: mtimeCompared, exact: mtimeExact, maxDeviationNs: maxDeviation },
  };
}

/** One line per difference, for logs and test failure messages. */
export function formatDifferences(comparison: TreeComparison, limit = 20): string {
  const lines = comparison.differences.slice(0, limit).map((d) => `${d.kind} ${d.path}: expected ${d.expected}, got ${d.actual}`);
  const more = comparison.differences.length - lines.length;
  if (more > 0 || comparison.truncated) lines.push(`... and ${comparison.truncated ? 'more than ' : ''}${more} more`);
  return lines.join('\n');
}
