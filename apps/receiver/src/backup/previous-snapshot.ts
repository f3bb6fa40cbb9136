import { RepositoryCorruptError, RepositoryNotFoundError, TreeEntryType, type ObjectId, type TreeEntry, type TreeIndex } from '@berth/repository';
import { pathComponents } from '@berth/wire';

export interface TreeReader {
  readTreeIndex(id: ObjectId): Promise<TreeIndex>;
}

const MAX_CACHED_TREES = 512;

/**
 * The host's previous snapshot, for the quick check. Directories are resolved by walking from the root;
 * trees are cached by id, so the siblings and ancestors a depth-first walk revisits cost nothing. Trees are read
 * as TreeIndexes: a large directory is matched entry by entry against its stored encoding, and only the entries
 * of changed files are decoded.
 */
export class PreviousSnapshot {
  private readonly trees = new Map<string, TreeIndex>();

  constructor(
    private readonly reader: TreeReader,
    private readonly rootId: ObjectId,
  ) {}

  /** Trees that could not be read (missing or damaged), each tried once: below them, directories are new. */
  private readonly lost = new Set<string>();

  /**
   * The tree of the directory at `path` in the previous snapshot, or null when it was not a directory there, or
   * when its tree or an ancestor's cannot be read (lost or damaged in the repository): the directory is then
   * backed up as if new, its content still deduplicated against whatever the repository holds.
   */
  async directory(path: Buffer): Promise<TreeIndex | null> {
    try {
      let tree = await this.tree(this.rootId);
      for (const name of pathComponents(path)) {
        const at = tree.indexOf(name);
        const entry = at < 0 ? null : tree.entry(at);
        if (entry === null || entry.type !== TreeEntryType.Dir || entry.subtree === null) return null;
        tree = await this.tree(entry.subtree);
      }
      return tree;
    } catch (error) {
      if (!(error instanceof RepositoryNotFoundError || error instanceof RepositoryCorruptError)) throw error;
      return null;
    }
  }

  /** How many of the previous snapshot's trees this run needed and could not read. */
  get treesLost(): number {
    return this.lost.size;
  }

  private async tree(id: ObjectId): Promise<TreeIndex> {
    const key = id.toString('hex');
    const cached = this.trees.get(key);
    if (cached !== undefined) return cached;
    if (this.lost.has(key)) throw new RepositoryNotFoundError(`tree ${key} could not be read before`);
    let tree: TreeIndex;
    try {
      tree = await this.reader.readTreeIndex(id);
    } catch (error) {
      if (error instanceof RepositoryNotFoundError || error instanceof RepositoryCorruptError) this.lost.add(key);
      throw error;
    }
    if (this.trees.size >= MAX_CACHED_TREES) this.trees.delete(this.trees.keys().next().value as string);
    this.trees.set(key, tree);
    return tree;
  }
}

/**
 * Lookups of names in ascending order in one tree (a chunk's entries, in the order they arrive): each continues
 * from where the last one stopped, about one name comparison per entry instead of a binary search's ~15 in a
 * large directory. A name that does not ascend falls back to the binary search.
 */
export class AscendingLookup {
  private at = -1;
  private last: Buffer | null = null;

  constructor(readonly tree: TreeIndex) {}

  /** The index of the entry named `name`, or -1. */
  indexOf(name: Buffer): number {
    const tree = this.tree;
    if (this.last !== null && Buffer.compare(name, this.last) <= 0) return tree.indexOf(name);
    this.last = name;
    if (this.at < 0) this.at = tree.lowerBound(name);
    while (this.at < tree.length && tree.compareName(this.at, name) < 0) this.at++;
    return this.at < tree.length && tree.compareName(this.at, name) === 0 ? this.at : -1;
  }
}

/** The quick check: a regular file whose size, mtime, inode and ctime all match is reused without its content. */
export function unchangedFile(previous: TreeEntry | null, current: { size: bigint; mtimeNs: bigint; ino: bigint; ctimeNs: bigint }): boolean {
  return (
    previous !== null &&
    previous.type === TreeEntryType.File &&
    previous.content !== null &&
    previous.size === current.size &&
    previous.mtimeNs === current.mtimeNs &&
    previous.ino === current.ino &&
    previous.ctimeNs === current.ctimeNs
  );
}

/**
 * An unchanged file (see unchangedFile) whose other metadata is equal too, so its new tree entry would equal the
 * previous one field for field: the previous entry can stand for it.
 */
export function identicalFile(previous: TreeEntry, current: { mode: number; uid: number; gid: number; dev: bigint; nlink: number; rdev: bigint }): boolean {
  return (
    previous.mode === current.mode &&
    previous.uid === current.uid &&
    previous.gid === current.gid &&
    previous.dev === current.dev &&
    previous.nlink === current.nlink &&
    previous.rdev === current.rdev
  );
}
