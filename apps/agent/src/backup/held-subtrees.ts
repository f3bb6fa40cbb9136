/**
 * Directory digests held back before they are sent as probes. The walk yields directories post-order, and a
 * directory's digest covers its whole subtree, so while every probe answered so far was a hit it pays to wait
 * for the parent: one probe of the parent then stands for all of its held descendants (an unchanged tree is one
 * probe of "/" instead of one per directory, with one answer, one journal record and one acknowledgement). The
 * descendants are kept with their parent and probed only when the parent's probe misses (see BackupTransfer).
 *
 * In post-order the held descendants of a directory are exactly the trailing held subtrees whose paths lie
 * inside its own, so `add` makes them its children.
 */
import { type DirectoryListing } from '../walk/tree-walker';

/** A directory held or probed with the subtrees held below it (its descendants not probed on their own). */
export interface SubtreeProbe {
  readonly listing: DirectoryListing;
  readonly digest: Buffer;
  readonly children: readonly SubtreeProbe[];
}

const SLASH = 0x2f;

/** True when `path` lies strictly inside directory `dir` (both absolute; "/" contains every other path). */
export function isInside(path: Buffer, dir: Buffer): boolean {
  if (dir.length === 1 && dir[0] === SLASH) return path.length > 1;
  return path.length > dir.length + 1 && path[dir.length] === SLASH && path.subarray(0, dir.length).equals(dir);
}

/** Regular files (and other non-directories) and their bytes in a probed subtree: its listing and every held one below. */
export function subtreeFiles(probe: SubtreeProbe): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  const pending: SubtreeProbe[] = [probe];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const own = next.listing.regularFiles();
    files += own.files;
    bytes += own.bytes;
    pending.push(...next.children);
  }
  return { files, bytes };
}

export class HeldSubtrees {
  private roots: SubtreeProbe[] = [];
  private entries = 0;

  /** Held subtrees (top-level ones: a directory's held descendants count with it). */
  get size(): number {
    return this.roots.length;
  }

  /** Entries of all the listings held: what holding costs in memory. */
  get heldEntries(): number {
    return this.entries;
  }

  /** Holds a directory yielded by the walk; the subtrees held inside it become its children. */
  add(listing: DirectoryListing, digest: Buffer): void {
    let first = this.roots.length;
    while (first > 0 && isInside((this.roots[first - 1] as SubtreeProbe).listing.path, listing.path)) first -= 1;
    const children = this.roots.splice(first);
    this.roots.push({ listing, digest, children });
    this.entries += listing.entryCount;
  }

  /** The held subtrees in walk order (disjoint), leaving none held. */
  take(): SubtreeProbe[] {
    const roots = this.roots;
    this.roots = [];
    this.entries = 0;
    return roots;
  }
}
