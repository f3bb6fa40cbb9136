/** Turns lstat results into the protocol's EntryMeta. */
import { type BigIntStats, constants } from 'node:fs';
import { EntryType, type EntryMeta } from '@berth/wire';

export function entryTypeOf(stats: BigIntStats): EntryType {
  return entryTypeOfMode(Number(stats.mode));
}

/** The entry type of an st_mode; throws for a file type the protocol does not know. */
export function entryTypeOfMode(mode: number): EntryType {
  const format = mode & constants.S_IFMT;
  switch (format) {
    case constants.S_IFREG:
      return EntryType.File;
    case constants.S_IFDIR:
      return EntryType.Dir;
    case constants.S_IFLNK:
      return EntryType.Symlink;
    case constants.S_IFIFO:
      return EntryType.Fifo;
    case constants.S_IFCHR:
      return EntryType.CharDevice;
    case constants.S_IFBLK:
      return EntryType.BlockDevice;
    case constants.S_IFSOCK:
      return EntryType.Socket;
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
