import { type ByteReader } from './byte-reader';
import { type ByteWriter } from './byte-writer';
import { WireError } from './errors';
import { MAX_LINK_TARGET_BYTES } from './limits';
import { EntryType, type EntryMeta, MAX_PATH_BYTES } from './messages';
import { validateName } from './validate';

/** Smallest possible encoded entry: a 1-byte name and one byte per other field. */
export const MIN_ENTRY_BYTES = 14;
const MAX_MODE = 0o7777;
const U32_MAX = 0xffff_ffff;
const ENTRY_TYPES = new Set<number>(Object.values(EntryType));

export function writeEntry(w: ByteWriter, entry: EntryMeta): void {
  // The name's own rule (1..255 bytes) is checked by validateName on decode, reported as bad_path.
  w.bytes(entry.name, MAX_PATH_BYTES, 'entry.name');
  w.u8(entry.type);
  w.varint(entry.mode, 'entry.mode');
  w.varint(entry.uid, 'entry.uid');
  w.varint(entry.gid, 'entry.gid');
  w.signedBigVarint(entry.mtimeNs, 'entry.mtimeNs');
  w.signedBigVarint(entry.ctimeNs, 'entry.ctimeNs');
  w.bigVarint(entry.ino, 'entry.ino');
  w.bigVarint(entry.dev, 'entry.dev');
  w.bigVarint(entry.size, 'entry.size');
  w.varint(entry.nlink, 'entry.nlink');
  if (entry.linkTarget === null) {
    w.u8(0);
  } else {
    w.u8(1);
    w.bytes(entry.linkTarget, MAX_LINK_TARGET_BYTES, 'entry.linkTarget');
  }
  w.bigVarint(entry.rdev, 'entry.rdev');
}

/** Reads and validates one entry: a safe name, a known type, permission bits only, a link target only on symlinks. */
export function readEntry(r: ByteReader): EntryMeta {
  const name = r.bytes(MAX_PATH_BYTES, 'entry.name');
  validateName(name);
  const type = r.u8('entry.type');
  if (!ENTRY_TYPES.has(type)) throw WireError.protocol(`entry.type: unknown type ${type}`);
  const mode = r.varint('entry.mode', MAX_MODE);
  const uid = r.varint('entry.uid', U32_MAX);
  const gid = r.varint('entry.gid', U32_MAX);
  const mtimeNs = r.signedBigVarint('entry.mtimeNs');
  const ctimeNs = r.signedBigVarint('entry.ctimeNs');
  const ino = r.bigVarint('entry.ino');
  const dev = r.bigVarint('entry.dev');
  const size = r.bigVarint('entry.size');
  const nlink = r.varint('entry.nlink', U32_MAX);
  const hasTarget = r.bool('entry.linkTarget flag');
  const linkTarget = hasTarget ? r.bytes(MAX_LINK_TARGET_BYTES, 'entry.linkTarget') : null;
  const rdev = r.bigVarint('entry.rdev');
  if (type === EntryType.Symlink) {
    if (linkTarget === null || linkTarget.length === 0) throw WireError.protocol('entry.linkTarget: a symlink needs a target');
    if (linkTarget.includes(0)) throw WireError.badPath('entry.linkTarget contains a NUL byte');
  } else if (linkTarget !== null) {
    throw WireError.protocol('entry.linkTarget: only symlinks have a target');
  }
  return { name, type: type as EntryType, mode, uid, gid, mtimeNs, ctimeNs, ino, dev, size, nlink, linkTarget, rdev };
}
