import { type SentPosition } from './messages';
import { pathComponents } from './validate';

/** An entry's place in a backup: entry `name` of directory `dir` (validated absolute path, raw bytes). */
export interface WalkPoint {
  readonly dir: Buffer;
  readonly name: Buffer;
}

/**
 * Compares two entries in the one fixed order in which an agent sends a tree: directories post-order (a directory's
 * entries after everything below it, "/" last), siblings by name bytes; entries of one directory by name bytes.
 * Negative when `a` is sent first, 0 for the same entry, positive when `b` is.
 */
export function compareWalkOrder(a: WalkPoint, b: WalkPoint): number {
  const dirs = compareDirectories(a.dir, b.dir);
  return dirs !== 0 ? dirs : Buffer.compare(a.name, b.name);
}

/** The later of two points in walk order; inside one file the larger offset (null, a delta, counts as the whole file). */
export function furthestPosition<T extends SentPosition>(a: T | null, b: T | null): T | null {
  if (a === null) return b;
  if (b === null) return a;
  const order = compareWalkOrder(a, b);
  if (order !== 0) return order > 0 ? a : b;
  if (a.offset === null) return a;
  if (b.offset === null) return b;
  return a.offset >= b.offset ? a : b;
}

function compareDirectories(a: Buffer, b: Buffer): number {
  if (a.equals(b)) return 0;
  const ac = pathComponents(a);
  const bc = pathComponents(b);
  const shared = Math.min(ac.length, bc.length);
  for (let i = 0; i < shared; i++) {
    const order = Buffer.compare(ac[i] as Buffer, bc[i] as Buffer);
    if (order !== 0) return order;
  }
  // One is an ancestor of the other: the descendant's entries go first.
  return bc.length - ac.length;
}
