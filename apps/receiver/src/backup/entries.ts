import { type EntryMetadata, type FileContent, type ObjectId, type TreeEntry, TreeEntryType } from '@berth/repository';
import { type EntryMeta, EntryType } from '@berth/wire';

/** An entry of a directory being assembled: the agent's metadata plus what the receiver learnt about it. */
export interface DraftEntry {
  readonly meta: EntryMeta;
  /** Regular files: content reused from the previous snapshot or just received; null when `stored` stands for it. */
  readonly content: FileContent | null;
  /** Regular files: bytes actually stored (the file may have changed size since lstat). */
  readonly size: bigint;
  /**
   * The previous snapshot's entry when this one is equal to it in every field (an unchanged file): the tree entry
   * is then that one, which the repository neither validates nor encodes again.
   */
  readonly stored?: TreeEntry;
}

const TREE_TYPE: Record<EntryType, TreeEntryType> = {
  [EntryType.File]: TreeEntryType.File,
  [EntryType.Dir]: TreeEntryType.Dir,
  [EntryType.Symlink]: TreeEntryType.Symlink,
  [EntryType.Fifo]: TreeEntryType.Fifo,
  [EntryType.CharDevice]: TreeEntryType.CharDevice,
  [EntryType.BlockDevice]: TreeEntryType.BlockDevice,
  [EntryType.Socket]: TreeEntryType.Socket,
};

const WIRE_TYPE = Object.fromEntries(Object.entries(TREE_TYPE).map(([wire, tree]) => [tree, Number(wire)])) as Record<TreeEntryType, EntryType>;

export function toTreeEntry(draft: DraftEntry, subtree: ObjectId | null): TreeEntry {
  if (draft.stored !== undefined) return draft.stored;
  const m = draft.meta;
  const isFile = m.type === EntryType.File;
  return {
    name: m.name,
    type: TREE_TYPE[m.type],
    mode: m.mode,
    uid: m.uid,
    gid: m.gid,
    mtimeNs: m.mtimeNs,
    ctimeNs: m.ctimeNs,
    ino: m.ino,
    dev: m.dev,
    size: isFile ? draft.size : m.size,
    nlink: m.nlink,
    rdev: m.rdev,
    linkTarget: m.type === EntryType.Symlink ? m.linkTarget : null,
    subtree: m.type === EntryType.Dir ? subtree : null,
    content: isFile ? draft.content : null,
  };
}

/** Tree and wire entry types are the same numbers: a tree entry then has every field of its EntryMeta, as is. */
const SAME_TYPE_NUMBERS = Object.entries(TREE_TYPE).every(([wire, tree]) => Number(wire) === tree);

/** The agent's metadata of an entry as the repository's (the same object when the type numbers are the same). */
export function asTreeMetadata(meta: EntryMeta): EntryMetadata {
  return SAME_TYPE_NUMBERS ? meta : { ...meta, type: TREE_TYPE[meta.type] };
}

/**
 * The metadata of the entries a directory's tree is built of, as the agent reads it: a carried entry equals its
 * draft's metadata in every field, which stands for it (so the stored entry is not decoded for it); any other is
 * its tree entry (whose size is what was stored).
 */
export function draftMetas(drafts: readonly DraftEntry[], entries: readonly TreeEntry[]): readonly EntryMeta[] {
  return drafts.map((draft, index) => (draft.stored !== undefined ? draft.meta : asEntryMeta(entries[index] as TreeEntry)));
}

/**
 * The metadata of stored entries (toEntryMeta of each), without an object per entry when a tree entry already is
 * its metadata (see SAME_TYPE_NUMBERS; a stored entry has a link target only when it is a symlink).
 */
export function toEntryMetas(entries: readonly TreeEntry[]): readonly EntryMeta[] {
  return SAME_TYPE_NUMBERS ? entries : entries.map(toEntryMeta);
}

/** toEntryMetas of one entry. */
function asEntryMeta(entry: TreeEntry): EntryMeta {
  return SAME_TYPE_NUMBERS ? entry : toEntryMeta(entry);
}

/** The metadata part of a stored entry, as a restore sends it. */
export function toEntryMeta(entry: TreeEntry): EntryMeta {
  return {
    name: entry.name,
    type: WIRE_TYPE[entry.type],
    mode: entry.mode,
    uid: entry.uid,
    gid: entry.gid,
    mtimeNs: entry.mtimeNs,
    ctimeNs: entry.ctimeNs,
    ino: entry.ino,
    dev: entry.dev,
    size: entry.size,
    nlink: entry.nlink,
    linkTarget: entry.type === TreeEntryType.Symlink ? entry.linkTarget : null,
    rdev: entry.rdev,
  };
}
