/**
 * Protocol 4: a chunk's entries packed for the wire. Entries of one directory look alike (same mode, owner and
 * device, names sharing a prefix, inodes and times close together), so each is written against the one
 * before it: the name as shared-prefix length plus suffix, the unchanged fields as flag bits, inode and mtime
 * as differences, ctime against its own mtime. The result is deflated. The 26,000-file directory of the
 * benchmark packs to about a fifth of the plain encoding (entry-codec.ts).
 *
 * Decoding inflates with a bounded output, then checks every entry as readEntry does (safe name, known type,
 * permission bits only, a link target only on symlinks) plus the packing's own bounds (shared prefix within
 * the previous name, differences that stay inside u64/i64, no unknown flag bits).
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { ByteReader } from './byte-reader';
import { ByteWriter } from './byte-writer';
import { type EntryColumns } from './entry-codec';
import { WireError } from './errors';
import { MAX_LINK_TARGET_BYTES } from './limits';
import { EntryType, type EntryMeta, MAX_FRAME_BYTES, MAX_NAME_BYTES } from './messages';
import { validateName } from './validate';

const MODE_SAME = 1;
const UID_SAME = 2;
const GID_SAME = 4;
const DEV_SAME = 8;
const NLINK_ONE = 16;
const HAS_TARGET = 32;
const HAS_RDEV = 64;
/** mtime, ctime and inode are written whole (a difference would leave i64). */
const ABSOLUTE = 128;

/** Smallest packed entry: prefix, suffix length, 1 suffix byte, type, flags, mode... at one byte each. */
export const MIN_PACKED_ENTRY_BYTES = 9;
const MAX_MODE = 0o7777;
const U32_MAX = 0xffff_ffff;
const U64_MAX = (1n << 64n) - 1n;
const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;
const ENTRY_TYPES = new Set<number>(Object.values(EntryType));
const EMPTY = Buffer.alloc(0);
/** Fast deflate: the entry lists are small and the agent's CPU matters more than the last few percent. */
const DEFLATE_LEVEL = 4;

interface Previous {
  name: Buffer;
  mode: number;
  uid: number;
  gid: number;
  mtimeNs: bigint;
  ino: bigint;
  dev: bigint;
}

function start(): Previous {
  return { name: EMPTY, mode: -1, uid: -1, gid: -1, mtimeNs: 0n, ino: 0n, dev: -1n };
}

function inI64(value: bigint): boolean {
  return value >= I64_MIN && value <= I64_MAX;
}

function sharedPrefix(a: Buffer, b: Buffer): number {
  const max = Math.min(a.length, b.length);
  let i = 0;
  while (i < max && a[i] === b[i]) i++;
  return i;
}

/** The entries, packed and deflated. */
export function packEntries(entries: readonly EntryMeta[]): Buffer {
  const w = new ByteWriter(64 + entries.length * 24);
  const prev = start();
  for (const e of entries) {
    const shared = sharedPrefix(prev.name, e.name);
    w.varint(shared, 'entry.name');
    w.bytes(e.name.subarray(shared), MAX_NAME_BYTES, 'entry.name');
    w.u8(e.type);
    const mtimeDelta = e.mtimeNs - prev.mtimeNs;
    const ctimeDelta = e.ctimeNs - e.mtimeNs;
    const inoDelta = e.ino - prev.ino;
    const absolute = !inI64(mtimeDelta) || !inI64(ctimeDelta) || !inI64(inoDelta);
    let flags = 0;
    if (e.mode === prev.mode) flags |= MODE_SAME;
    if (e.uid === prev.uid) flags |= UID_SAME;
    if (e.gid === prev.gid) flags |= GID_SAME;
    if (e.dev === prev.dev) flags |= DEV_SAME;
    if (e.nlink === 1) flags |= NLINK_ONE;
    if (e.linkTarget !== null) flags |= HAS_TARGET;
    if (e.rdev !== 0n) flags |= HAS_RDEV;
    if (absolute) flags |= ABSOLUTE;
    w.u8(flags);
    if ((flags & MODE_SAME) === 0) w.varint(e.mode, 'entry.mode');
    if ((flags & UID_SAME) === 0) w.varint(e.uid, 'entry.uid');
    if ((flags & GID_SAME) === 0) w.varint(e.gid, 'entry.gid');
    if (absolute) {
      w.signedBigVarint(e.mtimeNs, 'entry.mtimeNs');
      w.signedBigVarint(e.ctimeNs, 'entry.ctimeNs');
      w.bigVarint(e.ino, 'entry.ino');
    } else {
      w.signedBigVarint(mtimeDelta, 'entry.mtimeNs');
      w.signedBigVarint(ctimeDelta, 'entry.ctimeNs');
      w.signedBigVarint(inoDelta, 'entry.ino');
    }
    if ((flags & DEV_SAME) === 0) w.bigVarint(e.dev, 'entry.dev');
    w.bigVarint(e.size, 'entry.size');
    if ((flags & NLINK_ONE) === 0) w.varint(e.nlink, 'entry.nlink');
    if (e.linkTarget !== null) w.bytes(e.linkTarget, MAX_LINK_TARGET_BYTES, 'entry.linkTarget');
    if (e.rdev !== 0n) w.bigVarint(e.rdev, 'entry.rdev');
    prev.name = e.name;
    prev.mode = e.mode;
    prev.uid = e.uid;
    prev.gid = e.gid;
    prev.mtimeNs = e.mtimeNs;
    prev.ino = e.ino;
    prev.dev = e.dev;
  }
  return deflateRawSync(w.finish(), { level: DEFLATE_LEVEL });
}

/** Scratch for the 64-bit fields of the entry being packed and of the one before it (packEntryColumns is synchronous). */
const FIELDS = new Uint32Array(12);
const PREVIOUS = new Uint32Array(12);

/**
 * `a - b` of two 64-bit values given as 32-bit halves (`signed`: two's complement, else unsigned) into `out`
 * (low half unsigned, high half signed); false when the difference does not fit an i64.
 */
function difference64(aLow: number, aHigh: number, bLow: number, bHigh: number, signed: boolean, out: number[]): boolean {
  let low = aLow - bLow;
  const borrow = low < 0 ? 1 : 0;
  low += borrow * 0x1_0000_0000;
  const high = (signed ? (aHigh | 0) - (bHigh | 0) : aHigh - bHigh) - borrow;
  out[0] = low;
  out[1] = high;
  return high >= -0x8000_0000 && high <= 0x7fff_ffff;
}

/**
 * `count` entries of `columns` from `first`, packed and deflated: the same bytes packEntries gives for the same
 * entries decoded, without an EntryMeta or a bigint per entry (the agent packs its directory scans this way).
 */
export function packEntryColumns(columns: EntryColumns, first: number, count: number): Buffer {
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(count) || first < 0 || count < 0) throw new RangeError(`packEntryColumns: bad range ${first}+${count}`);
  for (let index = first; index < first + count; index++) {
    // A time whose nanoseconds leave i64 cannot be sent (the receiver refuses such an entry): refused here, whole.
    for (const field of ['mtimeNs', 'ctimeNs'] as const) {
      if (!columns.timeFitsI64(index, field)) throw WireError.protocol(`entry.${field}: ${columns.bigint(index, field)} is outside i64`);
    }
  }
  const w = new ByteWriter(64 + count * 24);
  const f = FIELDS;
  const p = PREVIOUS;
  p.fill(0);
  const mtimeDelta = [0, 0];
  const ctimeDelta = [0, 0];
  const inoDelta = [0, 0];
  let prevSource: Buffer = EMPTY;
  let prevStart = 0;
  let prevLength = 0;
  let prevMode = -1;
  let prevUid = -1;
  let prevGid = -1;
  for (let index = first; index < first + count; index++) {
    const source = columns.nameSource(index);
    const nameStart = columns.nameStart(index);
    const nameLength = columns.nameLength(index);
    const max = Math.min(prevLength, nameLength);
    let shared = 0;
    while (shared < max && source[nameStart + shared] === prevSource[prevStart + shared]) shared++;
    w.varint(shared, 'entry.name');
    w.bytesRange(source, nameStart + shared, nameLength - shared, MAX_NAME_BYTES, 'entry.name');
    w.u8(columns.type(index));
    columns.fields64(index, f);
    // Words: mtime 0-1, ctime 2-3, inode 4-5, device 6-7, size 8-9, rdev 10-11 (ENTRY_FIELDS_64).
    const mtimeFits = difference64(f[0]!, f[1]!, p[0]!, p[1]!, true, mtimeDelta);
    const ctimeFits = difference64(f[2]!, f[3]!, f[0]!, f[1]!, true, ctimeDelta);
    const inoFits = difference64(f[4]!, f[5]!, p[4]!, p[5]!, false, inoDelta);
    const absolute = !mtimeFits || !ctimeFits || !inoFits;
    const mode = columns.permissions(index);
    const uid = columns.uid(index);
    const gid = columns.gid(index);
    const nlink = columns.nlink(index);
    const linkTarget = columns.linkTarget(index);
    const hasRdev = f[10] !== 0 || f[11] !== 0;
    let flags = 0;
    if (mode === prevMode) flags |= MODE_SAME;
    if (uid === prevUid) flags |= UID_SAME;
    if (gid === prevGid) flags |= GID_SAME;
    if (index > first && f[6] === p[6] && f[7] === p[7]) flags |= DEV_SAME;
    if (nlink === 1) flags |= NLINK_ONE;
    if (linkTarget !== null) flags |= HAS_TARGET;
    if (hasRdev) flags |= HAS_RDEV;
    if (absolute) flags |= ABSOLUTE;
    w.u8(flags);
    if ((flags & MODE_SAME) === 0) w.varint(mode, 'entry.mode');
    if ((flags & UID_SAME) === 0) w.varint(uid, 'entry.uid');
    if ((flags & GID_SAME) === 0) w.varint(gid, 'entry.gid');
    if (absolute) {
      w.i64Halves(f[0]!, f[1]!);
      w.i64Halves(f[2]!, f[3]!);
      w.u64Halves(f[4]!, f[5]!);
    } else {
      w.i64Halves(mtimeDelta[0]!, mtimeDelta[1]!);
      w.i64Halves(ctimeDelta[0]!, ctimeDelta[1]!);
      w.i64Halves(inoDelta[0]!, inoDelta[1]!);
    }
    if ((flags & DEV_SAME) === 0) w.u64Halves(f[6]!, f[7]!);
    w.u64Halves(f[8]!, f[9]!);
    if ((flags & NLINK_ONE) === 0) w.varint(nlink, 'entry.nlink');
    if (linkTarget !== null) w.bytes(linkTarget, MAX_LINK_TARGET_BYTES, 'entry.linkTarget');
    if (hasRdev) w.u64Halves(f[10]!, f[11]!);
    prevSource = source;
    prevStart = nameStart;
    prevLength = nameLength;
    prevMode = mode;
    prevUid = uid;
    prevGid = gid;
    p.set(f);
  }
  return deflateRawSync(w.finish(), { level: DEFLATE_LEVEL });
}

/**
 * Inflates (at most `maxUnpackedBytes`) and decodes `count` entries, validated one by one. Names must ascend
 * strictly (the caller's rule for a chunk); checked here because the prefix coding relies on the order anyway.
 */
export function unpackEntries(packed: Buffer, count: number, maxUnpackedBytes: number = MAX_FRAME_BYTES): EntryMeta[] {
  let plain: Buffer;
  try {
    plain = inflateRawSync(packed, { maxOutputLength: maxUnpackedBytes });
  } catch (error) {
    throw WireError.protocol(`packed entries do not inflate within ${maxUnpackedBytes} bytes: ${(error as Error).message}`);
  }
  if (count * MIN_PACKED_ENTRY_BYTES > plain.length) throw WireError.protocol(`packed entries: count ${count} exceeds what ${plain.length} bytes can hold`);
  const r = new ByteReader(plain);
  const prev = start();
  const entries: EntryMeta[] = [];
  for (let i = 0; i < count; i++) {
    const entry = readPackedEntry(r, prev);
    if (i > 0 && Buffer.compare(prev.name, entry.name) >= 0) {
      throw WireError.protocol(`packed entry ${i} is not after entry ${i - 1} in name order (duplicate or unsorted)`);
    }
    prev.name = entry.name;
    prev.mode = entry.mode;
    prev.uid = entry.uid;
    prev.gid = entry.gid;
    prev.mtimeNs = entry.mtimeNs;
    prev.ino = entry.ino;
    prev.dev = entry.dev;
    entries.push(entry);
  }
  r.end('packed entries');
  return entries;
}

function readPackedEntry(r: ByteReader, prev: Previous): EntryMeta {
  const shared = r.varint('entry.name prefix', prev.name.length);
  const suffix = r.bytesView(MAX_NAME_BYTES, 'entry.name');
  if (shared + suffix.length > MAX_NAME_BYTES) throw WireError.badPath(`entry name of ${shared + suffix.length} bytes exceeds ${MAX_NAME_BYTES}`);
  // One (pooled) buffer per name, without the view and the array Buffer.concat would take.
  const name = Buffer.allocUnsafe(shared + suffix.length);
  prev.name.copy(name, 0, 0, shared);
  suffix.copy(name, shared);
  validateName(name);
  const type = r.u8('entry.type');
  if (!ENTRY_TYPES.has(type)) throw WireError.protocol(`entry.type: unknown type ${type}`);
  const flags = r.u8('entry.flags');
  const needsPrevious = MODE_SAME | UID_SAME | GID_SAME | DEV_SAME;
  if (prev.mode < 0 && (flags & needsPrevious) !== 0) throw WireError.protocol('entry.flags: the first entry cannot repeat a previous one');
  const mode = (flags & MODE_SAME) !== 0 ? prev.mode : r.varint('entry.mode', MAX_MODE);
  const uid = (flags & UID_SAME) !== 0 ? prev.uid : r.varint('entry.uid', U32_MAX);
  const gid = (flags & GID_SAME) !== 0 ? prev.gid : r.varint('entry.gid', U32_MAX);
  let mtimeNs: bigint;
  let ctimeNs: bigint;
  let ino: bigint;
  if ((flags & ABSOLUTE) !== 0) {
    mtimeNs = r.signedBigVarint('entry.mtimeNs');
    ctimeNs = r.signedBigVarint('entry.ctimeNs');
    ino = r.bigVarint('entry.ino');
  } else {
    mtimeNs = prev.mtimeNs + r.signedBigVarint('entry.mtimeNs');
    ctimeNs = mtimeNs + r.signedBigVarint('entry.ctimeNs');
    ino = prev.ino + r.signedBigVarint('entry.ino');
  }
  if (!inI64(mtimeNs) || !inI64(ctimeNs)) throw WireError.protocol('entry times outside i64');
  if (ino < 0n || ino > U64_MAX) throw WireError.protocol('entry.ino outside u64');
  const dev = (flags & DEV_SAME) !== 0 ? prev.dev : r.bigVarint('entry.dev');
  const size = r.bigVarint('entry.size');
  const nlink = (flags & NLINK_ONE) !== 0 ? 1 : r.varint('entry.nlink', U32_MAX);
  const linkTarget = (flags & HAS_TARGET) !== 0 ? r.bytes(MAX_LINK_TARGET_BYTES, 'entry.linkTarget') : null;
  const rdev = (flags & HAS_RDEV) !== 0 ? r.bigVarint('entry.rdev') : 0n;
  if (type === EntryType.Symlink) {
    if (linkTarget === null || linkTarget.length === 0) throw WireError.protocol('entry.linkTarget: a symlink needs a target');
    if (linkTarget.includes(0)) throw WireError.badPath('entry.linkTarget contains a NUL byte');
  } else if (linkTarget !== null) {
    throw WireError.protocol('entry.linkTarget: only symlinks have a target');
  }
  return { name, type: type as EntryType, mode, uid, gid, mtimeNs, ctimeNs, ino, dev, size, nlink, linkTarget, rdev };
}
