/**
 * A directory's entries as the walk found them, in name order, in one of two forms: decoded EntryMeta (the
 * walk made of readdir, lstat and readlink calls) or the records of one directory scan (@berth/posix), read
 * in place. An unchanged directory of a scan is digested and reused without a single EntryMeta: those are
 * decoded only when the directory's entries are sent.
 */
import { type DirectoryScan } from '@berth/posix';
import { directoryDigest, directoryDigestOfColumns, type EntryType, packEntries, packEntryColumns, type EntryColumns, type EntryField64, type EntryMeta } from '@berth/wire';
import { BLOCK_DEVICE, CHAR_DEVICE, DIR, entryTypeOfMode, FILE, SYMLINK } from './entry-meta';

export interface EntryList {
  readonly length: number;
  name(index: number): Buffer;
  nameLength(index: number): number;
  type(index: number): EntryType;
  /** A regular file's size (0 for other entries). */
  size(index: number): bigint;
  /** The same as a number (counting and cutting: exact up to 2^53 bytes, ordered beyond). */
  fileBytes(index: number): number;
  linkTarget(index: number): Buffer | null;
  /** `count` entries from `start`, packed for a PackedChunk (packEntries' bytes). */
  pack(start: number, count: number): Buffer;
  /** The entries decoded (once; later calls return the same array). */
  entries(): readonly EntryMeta[];
  /** Without the entries at these indexes. */
  without(indexes: ReadonlySet<number>): EntryList;
  /** The directory digest (protocol 4); `childDigest` is asked for each subdirectory, by index. */
  digest(childDigest: (index: number) => Buffer | null): Buffer | null;
}

export class MetaEntryList implements EntryList {
  constructor(private readonly list: readonly EntryMeta[]) {}

  get length(): number {
    return this.list.length;
  }

  name(index: number): Buffer {
    return this.list[index]!.name;
  }

  nameLength(index: number): number {
    return this.list[index]!.name.length;
  }

  type(index: number): EntryType {
    return this.list[index]!.type;
  }

  size(index: number): bigint {
    return this.list[index]!.size;
  }

  fileBytes(index: number): number {
    const entry = this.list[index]!;
    return entry.type === FILE ? Number(entry.size) : 0;
  }

  linkTarget(index: number): Buffer | null {
    return this.list[index]!.linkTarget;
  }

  pack(start: number, count: number): Buffer {
    return packEntries(this.list.slice(start, start + count));
  }

  entries(): readonly EntryMeta[] {
    return this.list;
  }

  without(indexes: ReadonlySet<number>): EntryList {
    return new MetaEntryList(this.list.filter((_, index) => !indexes.has(index)));
  }

  digest(childDigest: (index: number) => Buffer | null): Buffer | null {
    const indexOf = new Map(this.list.map((entry, index) => [entry, index]));
    return directoryDigest(this.list, (entry) => childDigest(indexOf.get(entry)!));
  }
}

const PERMISSION_BITS = 0o7777;

/** Entries of a scan (`records` are the scan's indexes of the entries kept, in order), read as columns. */
export class ScannedEntryList implements EntryList, EntryColumns {
  private decoded: EntryMeta[] | null = null;
  private readonly types: Uint8Array;

  /** `types`: the entry type of each record kept, when the caller has them already (else read from the scan). */
  constructor(
    private readonly scan: DirectoryScan,
    private readonly records: readonly number[],
    types?: Uint8Array,
  ) {
    if (types !== undefined) {
      if (types.length !== records.length) throw new Error(`${types.length} entry types for ${records.length} entries`);
      this.types = types;
      return;
    }
    this.types = new Uint8Array(records.length);
    for (let index = 0; index < records.length; index++) this.types[index] = entryTypeOfMode(scan.mode(records[index]!));
  }

  get length(): number {
    return this.records.length;
  }

  name(index: number): Buffer {
    return this.scan.name(this.records[index]!);
  }

  type(index: number): EntryType {
    return this.types[index] as EntryType;
  }

  permissions(index: number): number {
    return this.scan.mode(this.records[index]!) & PERMISSION_BITS;
  }

  uid(index: number): number {
    return this.scan.uid(this.records[index]!);
  }

  gid(index: number): number {
    return this.scan.gid(this.records[index]!);
  }

  nlink(index: number): number {
    return this.scan.nlink(this.records[index]!);
  }

  size(index: number): bigint {
    return this.types[index] === FILE ? this.scan.bigint(this.records[index]!, 'size') : 0n;
  }

  fileBytes(index: number): number {
    return this.types[index] === FILE ? this.scan.number(this.records[index]!, 'size') : 0;
  }

  pack(start: number, count: number): Buffer {
    return packEntryColumns(this, start, count);
  }

  linkTarget(index: number): Buffer | null {
    return this.types[index] === SYMLINK ? this.scan.linkTarget(this.records[index]!) : null;
  }

  nameSource(): Buffer {
    return this.scan.bytes;
  }

  nameStart(index: number): number {
    return this.scan.nameStart(this.records[index]!);
  }

  nameLength(index: number): number {
    return this.scan.nameLength(this.records[index]!);
  }

  /** The scan's 64-bit fields as 32-bit halves (size at words 8-9, rdev at 10-11), zero where `holds` says so. */
  fields64(index: number, out: Uint32Array): void {
    this.scan.fields64(this.records[index]!, out);
    if (!this.holds(index, 'size')) out.fill(0, 8, 10);
    if (!this.holds(index, 'rdev')) out.fill(0, 10, 12);
  }

  /** Size only for regular files, rdev only for devices (as EntryMeta has them). */
  private holds(index: number, field: EntryField64): boolean {
    if (field === 'size') return this.types[index] === FILE;
    if (field === 'rdev') return this.types[index] === CHAR_DEVICE || this.types[index] === BLOCK_DEVICE;
    return true;
  }

  timeFitsI64(index: number, field: 'mtimeNs' | 'ctimeNs'): boolean {
    return this.scan.timeFitsI64(this.records[index]!, field);
  }

  bigint(index: number, field: EntryField64): bigint {
    return this.holds(index, field) ? this.scan.bigint(this.records[index]!, field) : 0n;
  }

  entries(): readonly EntryMeta[] {
    this.decoded ??= this.records.map((_, index) => this.decode(index));
    return this.decoded;
  }

  private decode(index: number): EntryMeta {
    return {
      name: this.name(index),
      type: this.type(index),
      mode: this.permissions(index),
      uid: this.uid(index),
      gid: this.gid(index),
      mtimeNs: this.bigint(index, 'mtimeNs'),
      ctimeNs: this.bigint(index, 'ctimeNs'),
      ino: this.bigint(index, 'ino'),
      dev: this.bigint(index, 'dev'),
      size: this.bigint(index, 'size'),
      nlink: this.nlink(index),
      linkTarget: this.linkTarget(index),
      rdev: this.bigint(index, 'rdev'),
    };
  }

  without(indexes: ReadonlySet<number>): EntryList {
    return new ScannedEntryList(
      this.scan,
      this.records.filter((_, index) => !indexes.has(index)),
    );
  }

  digest(childDigest: (index: number) => Buffer | null): Buffer | null {
    return directoryDigestOfColumns(this, this.records.length, childDigest);
  }
}

/** Non-directory entries of `count` from `start`, and the bytes of the regular files among them (as the run's totals count them). */
export function regularFiles(list: EntryList, start = 0, count = list.length): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  for (let index = start; index < start + count; index++) {
    if (list.type(index) === DIR) continue;
    files += 1;
    bytes += list.fileBytes(index);
  }
  return { files, bytes };
}
