import { RepositoryCorruptError, RepositoryInputError } from '../errors';
import { ByteReader, ByteWriter, compareRanges, DecodeError } from '../binary';
import { OBJECT_ID_BYTES } from '../ids';
import { type FileContent, type Tree, type TreeEntry, TreeEntryType } from '../model';
import { MAX_LINK_TARGET_BYTES, MAX_NAME_BYTES, nameProblem, nameRangeProblem, showBytes } from './names';

/**
 * Tree encoding, version 1 (canonical: one tree has exactly one encoding, so its id is stable):
 *
 *   u8 version | varint entryCount | entry*
 *   entry: bytes name | u8 type | varint mode uid gid | zigzag mtimeNs ctimeNs
 *          | varint ino dev size nlink rdev | by type: Symlink: bytes target; Dir: 32-byte subtree id;
 *            File: 32-byte sha256, varint chunkCount, 32-byte chunk id*
 *
 * Entries are sorted by name bytes (Buffer.compare) and unique. `bytes` is a varint length then the bytes.
 */
export const TREE_FORMAT_VERSION = 1;
/** Ceiling on one encoded tree (about two million entries); bounds what decode may be asked to hold. */
export const MAX_TREE_BYTES = 256 * 1024 * 1024;

const MAX_U32 = 0xffff_ffff;
const U64_LIMIT = 1n << 64n;
const I64_MIN = -(1n << 63n);
const I64_LIMIT = 1n << 63n;
const KNOWN_TYPES = new Set<number>(Object.values(TreeEntryType));

export function encodeTree(tree: Tree): Buffer {
  const entries = tree?.entries;
  if (!Array.isArray(entries)) throw new RepositoryInputError('tree.entries must be an array');
  return joinEncodedEntries([EncodedEntries.encode(entries as readonly TreeEntry[])]);
}

/**
 * A run of tree entries encoded once, validated and in name order: the encoding of a tree is its header followed
 * by its entries' encodings, so a tree made of consecutive runs (a directory received in chunks, each chunk also
 * stored as a tree of its own as a resume point) is written by joining the runs, not by encoding every entry
 * again. Only `encode` makes one, so joined bytes are always the codec's own.
 */
export class EncodedEntries {
  private constructor(
    readonly entries: readonly TreeEntry[],
    /** The entries' encodings, back to back (no header). */
    readonly bytes: Buffer,
  ) {}

  static encode(entries: readonly TreeEntry[]): EncodedEntries {
    const writer = new ByteWriter(64 + entries.length * 96);
    let previous: Buffer | null = null;
    for (let at = 0; at < entries.length; ) {
      const entry = entries[at] as TreeEntry;
      if (entry instanceof CarriedEntry) {
        // Decoded from a stored tree, so valid and canonically encoded already: only its place here is new. The
        // entries after it that follow it in the same stored tree are in order and go with it, in one copy.
        const problem = orderProblem(entry.name, previous);
        if (problem !== null) throw new RepositoryInputError(`tree entry ${showBytes(entry.name)}: ${problem}`);
        at = entry.writeRun(entries, at, writer);
        previous = (entries[at - 1] as TreeEntry).name;
      } else {
        const problem = entryProblem(entry, previous);
        if (problem !== null) throw new RepositoryInputError(`tree entry ${showBytes(entry?.name)}: ${problem}`);
        writeEntry(writer, entry);
        previous = entry.name;
        at += 1;
      }
    }
    return new EncodedEntries(entries, writer.finish());
  }
}

/** Where a decoded tree's entries came from: their encodings (entry i is source[offsets[i]..offsets[i + 1]]), and origin. */
interface DecodedTree {
  readonly source: Buffer;
  readonly offsets: Uint32Array;
  readonly origin: object | null;
}

/** Trees decodeTree returned, by their entries array (the tree's own object is the caller's to copy or spread). */
const decodedTrees = new WeakMap<readonly TreeEntry[], DecodedTree>();

/**
 * An entry of a decoded tree, carried into a new tree unchanged: it is valid (decoding checked everything encoding
 * would) and its bytes in the stored tree are its canonical encoding, so it is neither validated nor encoded
 * again, its bytes are copied (most of a large directory, from one backup to the next). It also remembers which
 * repository it was read from (`origin`), whose objects it refers to are stored (see Repository.putTreeParts).
 * Made only by storedEntry and TreeIndex.storedEntry, for entries a caller reuses; decoded entries themselves stay
 * plain objects, which V8 allocates in bulk far more cheaply. TreeEntry's fields are readonly: one changed anyway
 * would still be written as decoded, so a change makes a new object.
 */
abstract class CarriedEntry {
  abstract readonly name: Buffer;
  readonly #tree: DecodedTree;
  readonly #index: number;

  constructor(tree: DecodedTree, index: number) {
    this.#tree = tree;
    this.#index = index;
  }

  static originOf(entry: TreeEntry): object | null {
    return entry instanceof CarriedEntry ? entry.#tree.origin : null;
  }

  /**
   * Writes this entry, `entries[from]`, and the entries after it that are the entries after it in the same stored
   * tree (a run of unchanged files), as one copy of their stored bytes; returns the index after the run. Such a
   * run is in order: the stored tree was checked to be.
   */
  writeRun(entries: readonly TreeEntry[], from: number, writer: ByteWriter): number {
    let end = from + 1;
    let last = this.#index;
    for (let next = entries[end]; next instanceof CarriedEntry && next.#tree === this.#tree && next.#index === last + 1; next = entries[end]) {
      last += 1;
      end += 1;
    }
    const { source, offsets } = this.#tree;
    writer.rawRange(source, offsets[this.#index] as number, offsets[last + 1] as number);
    return end;
  }
}

/** A carried entry of a tree decoded whole: its fields are the decoded entry's. */
class StoredEntry extends CarriedEntry implements TreeEntry {
  readonly name: Buffer;
  readonly type: TreeEntryType;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;
  readonly ino: bigint;
  readonly dev: bigint;
  readonly size: bigint;
  readonly nlink: number;
  readonly rdev: bigint;
  readonly linkTarget: Buffer | null;
  readonly subtree: Buffer | null;
  readonly content: FileContent | null;

  constructor(entry: TreeEntry, tree: DecodedTree, index: number) {
    super(tree, index);
    this.name = entry.name;
    this.type = entry.type;
    this.mode = entry.mode;
    this.uid = entry.uid;
    this.gid = entry.gid;
    this.mtimeNs = entry.mtimeNs;
    this.ctimeNs = entry.ctimeNs;
    this.ino = entry.ino;
    this.dev = entry.dev;
    this.size = entry.size;
    this.nlink = entry.nlink;
    this.rdev = entry.rdev;
    this.linkTarget = entry.linkTarget;
    this.subtree = entry.subtree;
    this.content = entry.content;
  }
}

/**
 * A carried entry of a TreeIndex: its name is a view of the stored bytes, its other fields are read from the entry
 * as TreeIndex.entry decodes it, on first use. Carrying it into a new tree reads only its name. Its fields are
 * accessors, not own properties: a spread or Object.keys of it sees none of them.
 */
class LazyStoredEntry extends CarriedEntry implements TreeEntry {
  readonly #owner: TreeIndex;
  readonly #at: number;

  constructor(
    readonly name: Buffer,
    tree: DecodedTree,
    index: number,
    owner: TreeIndex,
  ) {
    super(tree, index);
    this.#owner = owner;
    this.#at = index;
  }

  private decode(): TreeEntry {
    return this.#owner.entry(this.#at);
  }

  get type(): TreeEntryType {
    return this.decode().type;
  }
  get mode(): number {
    return this.decode().mode;
  }
  get uid(): number {
    return this.decode().uid;
  }
  get gid(): number {
    return this.decode().gid;
  }
  get mtimeNs(): bigint {
    return this.decode().mtimeNs;
  }
  get ctimeNs(): bigint {
    return this.decode().ctimeNs;
  }
  get ino(): bigint {
    return this.decode().ino;
  }
  get dev(): bigint {
    return this.decode().dev;
  }
  get size(): bigint {
    return this.decode().size;
  }
  get nlink(): number {
    return this.decode().nlink;
  }
  get rdev(): bigint {
    return this.decode().rdev;
  }
  get linkTarget(): Buffer | null {
    return this.decode().linkTarget;
  }
  get subtree(): Buffer | null {
    return this.decode().subtree;
  }
  get content(): FileContent | null {
    return this.decode().content;
  }
}

/**
 * Entry `index` of `tree` (as decodeTree returned it), to be carried unchanged into a tree being written: encoding
 * it copies its stored bytes instead of validating and encoding it. Any other tree's entry is returned as is.
 */
export function storedEntry(tree: Tree, index: number): TreeEntry {
  const entry = tree.entries[index];
  if (entry === undefined) throw new RepositoryInputError(`tree has no entry ${index}`);
  const decoded = decodedTrees.get(tree.entries);
  return decoded === undefined ? entry : new StoredEntry(entry, decoded, index);
}

/**
 * The `origin` given to decodeTree when `entry` came from a stored tree through storedEntry (Repository.readTree
 * passes a token of its own), null for any other entry.
 */
export function storedEntryOrigin(entry: TreeEntry): object | null {
  return CarriedEntry.originOf(entry);
}

/** The encoded tree of the runs' entries in the order given; names must keep ascending from one run to the next. */
export function joinEncodedEntries(parts: readonly EncodedEntries[]): Buffer {
  const { buffers, length } = encodedTreeParts(parts);
  const encoded = Buffer.allocUnsafe(length);
  let at = 0;
  for (const buffer of buffers) at += buffer.copy(encoded, at);
  return encoded;
}

/**
 * joinEncodedEntries without the join: the tree's header, then each run's bytes, whose concatenation is the encoded
 * tree (for a store that copies them where they go anyway, and hashes them in turn).
 */
export function encodedTreeParts(parts: readonly EncodedEntries[]): { readonly buffers: readonly Buffer[]; readonly length: number } {
  let count = 0;
  let bodyBytes = 0;
  let previous: Buffer | null = null;
  for (const part of parts) {
    const first = part.entries[0];
    if (first === undefined) continue;
    if (previous !== null) {
      const order = Buffer.compare(previous, first.name);
      if (order >= 0) throw new RepositoryInputError(`tree entry ${showBytes(first.name)}: ${order === 0 ? 'duplicate name' : `not sorted: comes after ${showBytes(previous)}`}`);
    }
    previous = (part.entries[part.entries.length - 1] as TreeEntry).name;
    count += part.entries.length;
    bodyBytes += part.bytes.length;
  }
  const header = new ByteWriter(16);
  header.u8(TREE_FORMAT_VERSION);
  header.uint(count);
  const head = header.finish();
  const length = head.length + bodyBytes;
  if (length > MAX_TREE_BYTES) throw new RepositoryInputError(`tree of ${count} entries encodes to ${length} bytes, more than ${MAX_TREE_BYTES}`);
  const buffers = [head];
  for (const part of parts) if (part.bytes.length > 0) buffers.push(part.bytes);
  return { buffers, length };
}

/**
 * Decodes and validates a stored tree; any inconsistency raises RepositoryCorruptError naming `idHex`. `origin`
 * tags its entries with where the tree was read from (see storedEntryOrigin). With `owned`, `encoded` is the
 * caller's to give away (read for this decode, never changed or reused after): the tree keeps it instead of a copy.
 */
export function decodeTree(encoded: Buffer, idHex: string | null = null, origin: object | null = null, owned = false): Tree {
  return decodeTreeIndex(encoded, idHex, origin, owned).tree;
}

/**
 * Validates a stored tree as decodeTree does, without decoding its entries: a TreeIndex finds entries by name and
 * compares their metadata in the encoding itself, and decodes an entry only when asked for it.
 */
export function decodeTreeIndex(encoded: Buffer, idHex: string | null = null, origin: object | null = null, owned = false): TreeIndex {
  try {
    // One copy of the whole encoding, of which names and ids are views: the tree pins only its own bytes (never
    // a larger buffer the caller read it from), without a copy and an allocation per name and per id. A buffer
    // given away is kept as it is (a fresh buffer's copy costs a page fault per 4 KiB), unless it is a view of a
    // much larger one.
    const source = owned && encoded.buffer.byteLength <= Math.max(encoded.length * 2, 8192) ? encoded : Buffer.from(encoded);
    const { offsets, names } = scanTree(source);
    return new TreeIndex({ source, offsets, origin }, names);
  } catch (error) {
    if (error instanceof DecodeError) throw new RepositoryCorruptError(`tree ${idHex ?? '(unknown id)'} is corrupt: ${error.message}`, idHex);
    throw error;
  }
}

/** The metadata a tree entry shares with what the agent reads with lstat: every field but name and the type's own. */
export type EntryMetadata = Pick<TreeEntry, 'type' | 'mode' | 'uid' | 'gid' | 'mtimeNs' | 'ctimeNs' | 'ino' | 'dev' | 'size' | 'nlink' | 'rdev'>;

/** Scratch for TreeIndex.sameMetadata: one writer for every comparison. */
const METADATA_SCRATCH = new ByteWriter(128);

/**
 * A stored tree checked in full (as decodeTree checks it) but kept as its encoding: where each entry and its name
 * are, found by name with comparisons in place, an entry decoded only when asked for. A large directory whose
 * files are mostly unchanged is matched against its previous tree entry by entry without an object, a bigint or a
 * view per stored entry (decoding every entry of a 26,000-entry tree took 100-150 ms and much of the collector's
 * time), and its unchanged entries are carried into the new tree as their stored bytes.
 */
export class TreeIndex {
  readonly length: number;
  readonly #decoded: DecodedTree;
  /** Entry i's name is source[names[2i]..names[2i + 1]). */
  readonly #names: Uint32Array;
  readonly #entries: Array<TreeEntry | undefined>;
  #tree: Tree | null = null;

  /** Made by decodeTreeIndex, from a tree it validated. */
  constructor(decoded: DecodedTree, names: Uint32Array) {
    this.#decoded = decoded;
    this.#names = names;
    this.length = decoded.offsets.length - 1;
    this.#entries = new Array<TreeEntry | undefined>(this.length);
  }

  /** Every entry, decoded (once); storedEntry(tree, i) carries them as their stored bytes. */
  get tree(): Tree {
    if (this.#tree !== null) return this.#tree;
    const reader = new ByteReader(this.#decoded.source);
    reader.seek(this.#decoded.offsets[0] as number);
    const entries: TreeEntry[] = [];
    let previous: TreeEntry | null = null;
    for (let i = 0; i < this.length; i++) {
      const entry: TreeEntry = this.#entries[i] ?? readEntry(reader, previous);
      if (this.#entries[i] !== undefined) reader.seek(this.#decoded.offsets[i + 1] as number);
      entries.push(entry);
      previous = entry;
    }
    this.#tree = { entries };
    decodedTrees.set(entries, this.#decoded);
    return this.#tree;
  }

  /** Entry `index`, decoded (once). */
  entry(index: number): TreeEntry {
    this.checkIndex(index);
    const tree = this.#tree;
    if (tree !== null) return tree.entries[index] as TreeEntry;
    let entry = this.#entries[index];
    if (entry === undefined) {
      const reader = new ByteReader(this.#decoded.source);
      reader.seek(this.#decoded.offsets[index] as number);
      entry = readEntry(reader, null);
      this.#entries[index] = entry;
    }
    return entry;
  }

  /**
   * Entry `index` to be carried unchanged into a tree being written, as storedEntry(tree, index) is: encoding it
   * copies its stored bytes. Its fields are decoded from them when first read (encoding it reads only its name).
   * `name`, when the caller holds the entry's name already (the one it was found by), stands for it instead of a
   * view of the stored bytes; it must be the same bytes.
   */
  storedEntry(index: number, name?: Buffer): TreeEntry {
    this.checkIndex(index);
    if (name !== undefined && this.compareName(index, name) !== 0) throw new RepositoryInputError(`tree entry ${index} is not named ${showBytes(name)}`);
    const names = this.#names;
    const own = name ?? this.#decoded.source.subarray(names[2 * index], names[2 * index + 1]);
    return new LazyStoredEntry(own, this.#decoded, index, this);
  }

  /** Compares entry `index`'s name with `name` (negative: the entry's comes first), in place. */
  compareName(index: number, name: Buffer): number {
    const names = this.#names;
    return compareRanges(this.#decoded.source, names[2 * index] as number, names[2 * index + 1] as number, name, 0, name.length);
  }

  /** The index of the first entry whose name is not below `name` (`length` when there is none). */
  lowerBound(name: Buffer): number {
    let low = 0;
    let high = this.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.compareName(mid, name) < 0) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  /** The index of the entry named `name`, or -1. */
  indexOf(name: Buffer): number {
    const at = this.lowerBound(name);
    return at < this.length && this.compareName(at, name) === 0 ? at : -1;
  }

  /**
   * Whether entry `index` has exactly this metadata (type, mode, owner, times, inode, device, size, links, rdev),
   * compared in the encoding: `metadata` is encoded as an entry's would be and its bytes compared with the stored
   * entry's from after its name. The fields' encodings are self-delimiting, so equal bytes mean equal fields.
   * Metadata no entry could hold (a value out of its range) is not the same.
   */
  sameMetadata(index: number, metadata: EntryMetadata): boolean {
    this.checkIndex(index);
    if (!KNOWN_TYPES.has(metadata.type)) return false;
    const scratch = METADATA_SCRATCH;
    scratch.reset();
    try {
      writeMetadata(scratch, metadata);
    } catch (error) {
      if (error instanceof RangeError) return false;
      throw error;
    }
    return scratch.matches(this.#decoded.source, this.#names[2 * index + 1] as number);
  }

  private checkIndex(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) throw new RepositoryInputError(`tree has no entry ${index}`);
  }
}

/**
 * Checks an encoded tree as completely as decoding it would (the format, every number's range, names, their order,
 * types, link targets), allocating nothing per entry, and returns where each entry and its name are.
 */
function scanTree(bytes: Buffer): { offsets: Uint32Array; names: Uint32Array } {
  const reader = new ByteReader(bytes);
  const version = reader.u8();
  if (version !== TREE_FORMAT_VERSION) throw new DecodeError(`unknown tree format version ${version}`);
  // Each entry takes at least 13 bytes, which bounds the count before anything is allocated for it.
  const count = reader.bounded('entry count', Math.floor(reader.remaining / 13));
  const offsets = new Uint32Array(count + 1);
  const names = new Uint32Array(2 * count);
  for (let i = 0; i < count; i++) {
    offsets[i] = reader.offset;
    const nameLength = reader.bounded('name length', MAX_NAME_BYTES);
    const nameStart = reader.offset;
    reader.skip(nameLength);
    names[2 * i] = nameStart;
    names[2 * i + 1] = reader.offset;
    const type = reader.u8();
    reader.bounded('mode', MAX_U32);
    reader.bounded('uid', MAX_U32);
    reader.bounded('gid', MAX_U32);
    for (let field = 0; field < 5; field++) reader.skip64(); // mtimeNs ctimeNs ino dev size
    reader.bounded('nlink', MAX_U32);
    reader.skip64(); // rdev
    let target = -1;
    let targetLength = 0;
    if (type === TreeEntryType.Symlink) {
      targetLength = reader.bounded('link target length', MAX_LINK_TARGET_BYTES);
      target = reader.offset;
      reader.skip(targetLength);
    }
    if (type === TreeEntryType.Dir) reader.skip(OBJECT_ID_BYTES);
    if (type === TreeEntryType.File) {
      reader.skip(OBJECT_ID_BYTES);
      reader.skip(OBJECT_ID_BYTES * reader.bounded('chunk count', Math.floor(reader.remaining / OBJECT_ID_BYTES)));
    }
    const problem = scannedEntryProblem(bytes, names, i, type, target, targetLength);
    if (problem !== null) throw new DecodeError(`entry ${i} ${showBytes(bytes.subarray(nameStart, nameStart + nameLength))}: ${problem}`);
  }
  offsets[count] = reader.offset;
  reader.end();
  return { offsets, names };
}

/**
 * What entryProblem would find wrong with scanned entry `i` that the scan itself does not guarantee (every number
 * is in range, ids are 32 bytes and each type has exactly its own fields): its name, its order, its type, its link
 * target. The messages are entryProblem's.
 */
function scannedEntryProblem(bytes: Buffer, names: Uint32Array, i: number, type: number, target: number, targetLength: number): string | null {
  const start = names[2 * i] as number;
  const end = names[2 * i + 1] as number;
  const name = nameRangeProblem(bytes, start, end);
  if (name !== null) return `name ${name}`;
  if (i > 0) {
    const order = compareRanges(bytes, start, end, bytes, names[2 * i - 2] as number, names[2 * i - 1] as number);
    if (order === 0) return 'duplicate name';
    if (order < 0) return `not sorted: comes after ${showBytes(bytes.subarray(names[2 * i - 2], names[2 * i - 1]))}`;
  }
  if (!KNOWN_TYPES.has(type)) return `unknown type ${type}`;
  if (target >= 0) {
    if (targetLength === 0) return `linkTarget must be 1..${MAX_LINK_TARGET_BYTES} bytes`;
    if (bytes.subarray(target, target + targetLength).includes(0)) return 'linkTarget contains a NUL byte';
  }
  return null;
}

function writeEntry(writer: ByteWriter, entry: TreeEntry): void {
  writer.bytes(entry.name);
  writeMetadata(writer, entry);
  if (entry.type === TreeEntryType.Symlink && entry.linkTarget) writer.bytes(entry.linkTarget);
  if (entry.type === TreeEntryType.Dir && entry.subtree) writer.raw(entry.subtree);
  if (entry.type === TreeEntryType.File && entry.content) {
    writer.raw(entry.content.sha256);
    writer.uint(entry.content.chunks.length);
    for (const chunk of entry.content.chunks) writer.raw(chunk);
  }
}

/** The fields between an entry's name and its type's own, as writeEntry encodes them (RangeError for a value out of range). */
function writeMetadata(writer: ByteWriter, entry: EntryMetadata): void {
  writer.u8(entry.type);
  writer.uint(entry.mode);
  writer.uint(entry.uid);
  writer.uint(entry.gid);
  writer.i64(entry.mtimeNs);
  writer.i64(entry.ctimeNs);
  writer.u64(entry.ino);
  writer.u64(entry.dev);
  writer.u64(entry.size);
  writer.uint(entry.nlink);
  writer.u64(entry.rdev);
}

/** Entry fields equal to `previous`'s (the device, a zero rdev) or to each other (a one-chunk file's id) share one value. */
function readEntry(reader: ByteReader, previous: TreeEntry | null): TreeEntry {
  const name = reader.view('name', MAX_NAME_BYTES);
  const type = reader.u8() as TreeEntryType;
  const mode = reader.bounded('mode', MAX_U32);
  const uid = reader.bounded('uid', MAX_U32);
  const gid = reader.bounded('gid', MAX_U32);
  const mtimeNs = reader.i64();
  const ctimeNs = reader.i64();
  const ino = reader.u64();
  const dev = previous === null ? reader.u64() : reader.u64Or(previous.dev, Number(previous.dev));
  const size = reader.u64();
  const nlink = reader.bounded('nlink', MAX_U32);
  const rdev = reader.u64Or(0n, 0);
  let linkTarget: Buffer | null = null;
  let subtree: Buffer | null = null;
  let content: FileContent | null = null;
  if (type === TreeEntryType.Symlink) linkTarget = reader.view('link target', MAX_LINK_TARGET_BYTES);
  if (type === TreeEntryType.Dir) subtree = reader.raw(OBJECT_ID_BYTES);
  if (type === TreeEntryType.File) {
    const sha256 = reader.raw(OBJECT_ID_BYTES);
    const chunkCount = reader.bounded('chunk count', Math.floor(reader.remaining / OBJECT_ID_BYTES));
    const chunks: Buffer[] = [];
    for (let c = 0; c < chunkCount; c++) chunks.push(reader.raw(OBJECT_ID_BYTES));
    // A file of one chunk: its SHA-256 is its chunk's id.
    if (chunkCount === 1 && sha256.equals(chunks[0] as Buffer)) chunks[0] = sha256;
    content = { sha256, chunks };
  }
  return { name, type, mode, uid, gid, mtimeNs, ctimeNs, ino, dev, size, nlink, rdev, linkTarget, subtree, content };
}

/** Why an entry cannot be stored (as the entry after `previous`), or null. */
function entryProblem(entry: TreeEntry, previous: Buffer | null): string | null {
  if (typeof entry !== 'object' || entry === null) return 'is not an object';
  const common = nameTypeProblem(entry, previous);
  if (common !== null) return common;
  for (const field of ['mode', 'uid', 'gid', 'nlink'] as const) {
    const value = entry[field];
    if (!Number.isInteger(value) || value < 0 || value > MAX_U32) return `${field} ${String(value)} is not an unsigned 32-bit integer`;
  }
  for (const field of ['ino', 'dev', 'size', 'rdev'] as const) {
    const value = entry[field];
    if (typeof value !== 'bigint' || value < 0n || value >= U64_LIMIT) return `${field} ${String(value)} is not an unsigned 64-bit bigint`;
  }
  for (const field of ['mtimeNs', 'ctimeNs'] as const) {
    const value = entry[field];
    if (typeof value !== 'bigint' || value < I64_MIN || value >= I64_LIMIT) return `${field} ${String(value)} is not a signed 64-bit bigint`;
  }
  return typeSpecificProblem(entry);
}

/** The checks every entry needs: its name, its order after `previous`, a known type. */
function nameTypeProblem(entry: TreeEntry, previous: Buffer | null): string | null {
  const name = nameProblem(entry.name);
  if (name !== null) return `name ${name}`;
  const order = orderProblem(entry.name, previous);
  if (order !== null) return order;
  if (!KNOWN_TYPES.has(entry.type)) return `unknown type ${String(entry.type)}`;
  return null;
}

/** Why `name` cannot follow `previous` in a tree, or null. */
function orderProblem(name: Buffer, previous: Buffer | null): string | null {
  if (previous === null) return null;
  const order = Buffer.compare(previous, name);
  if (order === 0) return 'duplicate name';
  if (order > 0) return `not sorted: comes after ${showBytes(previous)}`;
  return null;
}

function typeSpecificProblem(entry: TreeEntry): string | null {
  const isSymlink = entry.type === TreeEntryType.Symlink;
  const isDir = entry.type === TreeEntryType.Dir;
  const isFile = entry.type === TreeEntryType.File;
  if (isSymlink !== (entry.linkTarget !== null)) return isSymlink ? 'symlink without linkTarget' : 'linkTarget set on a non-symlink';
  if (isDir !== (entry.subtree !== null)) return isDir ? 'directory without subtree' : 'subtree set on a non-directory';
  if (isFile !== (entry.content !== null)) return isFile ? 'file without content' : 'content set on a non-file';
  if (entry.linkTarget !== null) {
    if (!Buffer.isBuffer(entry.linkTarget)) return 'linkTarget is not a byte string';
    if (entry.linkTarget.length === 0 || entry.linkTarget.length > MAX_LINK_TARGET_BYTES) return `linkTarget must be 1..${MAX_LINK_TARGET_BYTES} bytes`;
    if (entry.linkTarget.includes(0)) return 'linkTarget contains a NUL byte';
  }
  if (entry.subtree !== null && !isId(entry.subtree)) return `subtree must be a ${OBJECT_ID_BYTES}-byte id`;
  if (entry.content !== null) {
    if (!isId(entry.content.sha256)) return `content.sha256 must be ${OBJECT_ID_BYTES} bytes`;
    if (!Array.isArray(entry.content.chunks)) return 'content.chunks must be an array';
    if (!entry.content.chunks.every(isId)) return `every content chunk id must be ${OBJECT_ID_BYTES} bytes`;
  }
  return null;
}

function isId(value: unknown): boolean {
  return Buffer.isBuffer(value) && value.length === OBJECT_ID_BYTES;
}
