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

/** The 64-bit fields of an entry. */
export type EntryField64 = 'mtimeNs' | 'ctimeNs' | 'ino' | 'dev' | 'size' | 'rdev';

/** The order in which `EntryColumns.fields64` gives the 64-bit fields, each as its low then its high 32 bits. */
export const ENTRY_FIELDS_64: readonly EntryField64[] = ['mtimeNs', 'ctimeNs', 'ino', 'dev', 'size', 'rdev'];

/**
 * Entries read field by field, without an object or a bigint per entry (an lstat scan's records): what
 * `writeEntryColumns` encodes. Values are the entry's as EntryMeta holds them (size 0 unless a regular file,
 * rdev 0 unless a device, a link target only on a symlink).
 */
export interface EntryColumns {
  /** Where entry `index`'s name is: `nameLength` bytes of `nameSource` from `nameStart` (no view made per entry). */
  nameSource(index: number): Buffer;
  nameStart(index: number): number;
  nameLength(index: number): number;
  type(index: number): EntryType;
  /** Permission bits (0o7777). */
  permissions(index: number): number;
  uid(index: number): number;
  gid(index: number): number;
  nlink(index: number): number;
  linkTarget(index: number): Buffer | null;
  /**
   * The 32-bit halves of the 64-bit fields (two's complement for the times), low first, in ENTRY_FIELDS_64 order,
   * into `out` (12 words): one call per entry. A time that does not fit an i64 may be anything here (see timeFitsI64).
   */
  fields64(index: number, out: Uint32Array): void;
  /** False when a time's nanoseconds do not fit an i64: `bigint` gives it then. */
  timeFitsI64(index: number, field: 'mtimeNs' | 'ctimeNs'): boolean;
  bigint(index: number, field: 'mtimeNs' | 'ctimeNs'): bigint;
}

/** Scratch for one entry's 64-bit fields (writeEntryColumns is synchronous). */
const FIELDS_64 = new Uint32Array(12);

/** Writes entry `index` of `columns` exactly as writeEntry writes the same entry as an EntryMeta. */
export function writeEntryColumns(w: ByteWriter, columns: EntryColumns, index: number): void {
  w.bytesRange(columns.nameSource(index), columns.nameStart(index), columns.nameLength(index), MAX_PATH_BYTES, 'entry.name');
  w.u8(columns.type(index));
  w.varint(columns.permissions(index), 'entry.mode');
  w.varint(columns.uid(index), 'entry.uid');
  w.varint(columns.gid(index), 'entry.gid');
  const f = FIELDS_64;
  columns.fields64(index, f);
  if (columns.timeFitsI64(index, 'mtimeNs')) w.i64Halves(f[0]!, f[1]!);
  else w.signedBigVarint(columns.bigint(index, 'mtimeNs'), 'entry.mtimeNs');
  if (columns.timeFitsI64(index, 'ctimeNs')) w.i64Halves(f[2]!, f[3]!);
  else w.signedBigVarint(columns.bigint(index, 'ctimeNs'), 'entry.ctimeNs');
  w.u64Halves(f[4]!, f[5]!);
  w.u64Halves(f[6]!, f[7]!);
  w.u64Halves(f[8]!, f[9]!);
  w.varint(columns.nlink(index), 'entry.nlink');
  const linkTarget = columns.linkTarget(index);
  if (linkTarget === null) {
    w.u8(0);
  } else {
    w.u8(1);
    w.bytes(linkTarget, MAX_LINK_TARGET_BYTES, 'entry.linkTarget');
  }
  w.u64Halves(f[10]!, f[11]!);
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
