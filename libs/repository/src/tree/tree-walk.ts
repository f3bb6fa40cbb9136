import { type ReadOptions, type WalkItem } from '../api';
import { type FileContent, type ObjectId, type Tree, type TreeEntry, TreeEntryType } from '../model';
import { splitPath } from './names';

/** What walking and resolving need from a repository. */
export interface ObjectReader {
  readBlob(id: ObjectId, options?: ReadOptions): Promise<Buffer>;
  readTree(id: ObjectId): Promise<Tree>;
}

const SLASH = Buffer.from('/');

/**
 * Every entry below `rootId` in pre-order (a directory before its contents, siblings in name order). Uses an
 * explicit stack, so depth costs memory for one open tree per level, not call stack.
 */
export async function* walkTree(reader: ObjectReader, rootId: ObjectId): AsyncGenerator<WalkItem> {
  const stack: { prefix: Buffer | null; entries: readonly TreeEntry[]; next: number }[] = [
    { prefix: null, entries: (await reader.readTree(rootId)).entries, next: 0 },
  ];
  for (let top = stack[0]; top; top = stack[stack.length - 1]) {
    const entry = top.entries[top.next++];
    if (!entry) {
      stack.pop();
      continue;
    }
    const path = top.prefix ? Buffer.concat([top.prefix, SLASH, entry.name]) : entry.name;
    yield { path, entry, depth: stack.length };
    if (entry.type === TreeEntryType.Dir && entry.subtree) {
      stack.push({ prefix: path, entries: (await reader.readTree(entry.subtree)).entries, next: 0 });
    }
  }
}

/**
 * The entry at `path` (absolute or relative to the root, components separated by '/'), or null when nothing
 * is there. The root itself ("/" or empty) resolves to a synthetic directory entry with an empty name whose
 * subtree is `rootId` (its own metadata is not stored in any tree). '.' and '..' are refused.
 */
export async function resolvePath(reader: ObjectReader, rootId: ObjectId, path: Buffer): Promise<TreeEntry | null> {
  const parts = splitPath(path);
  if (parts.length === 0) return rootEntry(rootId);
  let tree = await reader.readTree(rootId);
  for (const [i, part] of parts.entries()) {
    const entry = findEntry(tree, part);
    if (!entry) return null;
    if (i === parts.length - 1) return entry;
    if (entry.type !== TreeEntryType.Dir || !entry.subtree) return null;
    tree = await reader.readTree(entry.subtree);
  }
  return null;
}

/** Binary search: entries are sorted by name bytes. */
export function findEntry(tree: Tree, name: Buffer): TreeEntry | null {
  let low = 0;
  let high = tree.entries.length - 1;
  while (low <= high) {
    const mid = (low + high) >>> 1;
    const entry = tree.entries[mid] as TreeEntry;
    const order = Buffer.compare(entry.name, name);
    if (order === 0) return entry;
    if (order < 0) low = mid + 1;
    else high = mid - 1;
  }
  return null;
}

/** A file's content, chunk by chunk in order; each chunk is verified against its id as it is read (see ReadOptions). */
export async function* readFileContent(reader: ObjectReader, content: FileContent, options: ReadOptions = {}): AsyncGenerator<Buffer> {
  for (const chunk of content.chunks) yield await reader.readBlob(chunk, options);
}

function rootEntry(rootId: ObjectId): TreeEntry {
  return {
    name: Buffer.alloc(0),
    type: TreeEntryType.Dir,
    mode: 0o40755,
    uid: 0,
    gid: 0,
    mtimeNs: 0n,
    ctimeNs: 0n,
    ino: 0n,
    dev: 0n,
    size: 0n,
    nlink: 1,
    rdev: 0n,
    linkTarget: null,
    subtree: rootId,
    content: null,
  };
}
