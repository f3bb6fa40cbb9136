/** Turns lstat results into the protocol's EntryMeta. */
import { type BigIntStats, constants } from 'node:fs';
import { EntryType, type EntryMeta } from '@berth/wire';

export function entryTypeOf(stats: BigIntStats): EntryType {
  return entryTypeOfMode(Number(stats.mode));
}

// Read once, for the agent's loops over a directory's entries: each `constants.X`, and each `EntryType.X` (a call to
// the re-exporting getter of @berth/wire), would otherwise be paid per entry.
const { S_IFMT, S_IFREG, S_IFDIR, S_IFLNK, S_IFIFO, S_IFCHR, S_IFBLK, S_IFSOCK } = constants;
export const FILE = EntryType.File;
export const DIR = EntryType.Dir;
export const SYMLINK = EntryType.Symlink;
export const FIFO = EntryType.Fifo;
export const CHAR_DEVICE = EntryType.CharDevice;
export const BLOCK_DEVICE = EntryType.BlockDevice;
export const SOCKET = EntryType.Socket;

/** The entry type of an st_mode; throws for a file type the protocol does not know. */
export function entryTypeOfMode(mode: number): EntryType {
  const format = mode & S_IFMT;
  switch (format) {
    case S_IFREG:
      return FILE;
    case S_IFDIR:
      return DIR;
    case S_IFLNK:
      return SYMLINK;
    case S_IFIFO:
      return FIFO;
    case S_IFCHR:
      return CHAR_DEVICE;
    case S_IFBLK:
      return BLOCK_DEVICE;
    case S_IFSOCK:
      return SOCKET;
    default:
      throw new Error(`unknown file type 0o${format.toString(8)}`);
  }
}

export function toEntryMeta(name: Buffer, stats: BigIntStats, linkTarget: Buffer | null): EntryMeta {
  const type = entryTypeOf(stats);
  const isDevice = type === EntryType.CharDevice || type === EntryType.BlockDevice;
  return {
    name,
    type,
    mode: Number(stats.mode & 0o7777n),
    uid: Number(stats.uid),
    gid: Number(stats.gid),
    mtimeNs: stats.mtimeNs,
    ctimeNs: stats.ctimeNs,
    ino: stats.ino,
    dev: stats.dev,
    size: type === EntryType.File ? stats.size : 0n,
    nlink: Number(stats.nlink),
    linkTarget: type === EntryType.Symlink ? linkTarget : null,
    rdev: isDevice ? stats.rdev : 0n,
  };
}
