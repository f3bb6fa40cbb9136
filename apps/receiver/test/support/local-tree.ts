import { EntryType, type EntryMeta } from '@berth/wire';
import { type BigIntStats } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';

const SLASH = Buffer.from('/');

export function joinLocal(dir: Buffer, name: Buffer): Buffer {
  return Buffer.concat([dir, SLASH, name]);
}

function entryType(st: BigIntStats): EntryType {
  if (st.isFile()) return EntryType.File;
  if (st.isDirectory()) return EntryType.Dir;
  if (st.isSymbolicLink()) return EntryType.Symlink;
  if (st.isFIFO()) return EntryType.Fifo;
  if (st.isCharacterDevice()) return EntryType.CharDevice;
  if (st.isBlockDevice()) return EntryType.BlockDevice;
  return EntryType.Socket;
}

/** What an agent would send for one path, read with lstat (never following symlinks). */
export async function readEntry(dir: Buffer, name: Buffer): Promise<EntryMeta> {
  const path = joinLocal(dir, name);
  const st = await lstat(path, { bigint: true });
  const type = entryType(st);
  return {
    name,
    type,
    mode: Number(st.mode & 0o7777n),
    uid: Number(st.uid),
    gid: Number(st.gid),
    mtimeNs: st.mtimeNs,
    ctimeNs: st.ctimeNs,
    ino: st.ino,
    dev: st.dev,
    size: type === EntryType.File ? st.size : 0n,
    nlink: Number(st.nlink),
    linkTarget: type === EntryType.Symlink ? await readlink(path, { encoding: 'buffer' }) : null,
    rdev: st.rdev,
  };
}

/** A directory's entries in byte order of their names. */
export async function readEntries(dir: Buffer): Promise<EntryMeta[]> {
  const names = (await readdir(dir, { encoding: 'buffer' })).sort(Buffer.compare);
  return Promise.all(names.map((name) => readEntry(dir, name)));
}
