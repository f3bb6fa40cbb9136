import { crc32 } from 'node:zlib';
import { OBJECT_ID_BYTES, sha256 } from '../ids';
import { type ObjectId } from '../model';

/**
 * Pack file, version 1: append-only, self-describing records, so a pack can be indexed by scanning it alone.
 *
 *   header (16 bytes): "BRTHPACK" | u32 version | u32 reserved (0)
 *   record: u8 kind | u8 flags (0) | 32-byte id | u32 data length | u32 crc32 of the previous 38 bytes | data
 *
 * The header CRC makes a torn or zero-filled header detectable before its length is trusted; the data is
 * checked by its id (SHA-256 of the data). All integers big-endian.
 *
 * Index file (.idx) of a sealed pack: "BRTHPIDX" | u32 version | u32 count | u64 pack bytes covered
 *   | count x (u8 kind | 32-byte id | u48 data offset | u32 data length) | SHA-256 of everything before.
 */
export const PACK_MAGIC = Buffer.from('BRTHPACK', 'latin1');
export const IDX_MAGIC = Buffer.from('BRTHPIDX', 'latin1');
export const PACK_FORMAT_VERSION = 1;
export const PACK_HEADER_BYTES = 16;
export const RECORD_HEADER_BYTES = 42;
const RECORD_CRC_OFFSET = 38;
const IDX_HEADER_BYTES = 24;
const IDX_ENTRY_BYTES = 43;

export const ObjectKind = {
  Blob: 1,
  Tree: 2,
} as const;
export type ObjectKind = (typeof ObjectKind)[keyof typeof ObjectKind];

export interface PackEntry {
  readonly kind: ObjectKind;
  readonly id: ObjectId;
  /** Offset of the record's data (after its header) in the pack. */
  readonly offset: number;
  readonly length: number;
}

export function encodePackHeader(): Buffer {
  const header = Buffer.alloc(PACK_HEADER_BYTES);
  PACK_MAGIC.copy(header, 0);
  header.writeUInt32BE(PACK_FORMAT_VERSION, 8);
  return header;
}

export function packHeaderProblem(header: Buffer): string | null {
  if (header.length < PACK_HEADER_BYTES) return 'pack header is torn';
  if (!header.subarray(0, 8).equals(PACK_MAGIC)) return 'not a pack file (bad magic)';
  const version = header.readUInt32BE(8);
  if (version !== PACK_FORMAT_VERSION) return `unknown pack format version ${version}`;
  return null;
}

/** Writes a record header into `target` at `at`. */
export function writeRecordHeader(target: Buffer, at: number, kind: ObjectKind, id: ObjectId, length: number): void {
  target[at] = kind;
  target[at + 1] = 0;
  id.copy(target, at + 2);
  target.writeUInt32BE(length, at + 2 + OBJECT_ID_BYTES);
  target.writeUInt32BE(crc32(target.subarray(at, at + RECORD_CRC_OFFSET)), at + RECORD_CRC_OFFSET);
}

export type RecordHeader = { readonly kind: ObjectKind; readonly id: ObjectId; readonly length: number };

/** Parses a record header, or returns why it is not one (torn, zeroed, or damaged). */
export function parseRecordHeader(bytes: Buffer): RecordHeader | string {
  if (bytes.length < RECORD_HEADER_BYTES) return 'torn record header';
  if (crc32(bytes.subarray(0, RECORD_CRC_OFFSET)) !== bytes.readUInt32BE(RECORD_CRC_OFFSET)) return 'record header checksum mismatch';
  const kind = bytes[0];
  if (kind !== ObjectKind.Blob && kind !== ObjectKind.Tree) return `unknown record kind ${String(kind)}`;
  if (bytes[1] !== 0) return `unknown record flags ${String(bytes[1])}`;
  return { kind, id: Buffer.from(bytes.subarray(2, 2 + OBJECT_ID_BYTES)), length: bytes.readUInt32BE(2 + OBJECT_ID_BYTES) };
}

export function encodeIndex(entries: readonly PackEntry[], packBytes: number): Buffer {
  const out = Buffer.alloc(IDX_HEADER_BYTES + entries.length * IDX_ENTRY_BYTES + OBJECT_ID_BYTES);
  IDX_MAGIC.copy(out, 0);
  out.writeUInt32BE(PACK_FORMAT_VERSION, 8);
  out.writeUInt32BE(entries.length, 12);
  out.writeBigUInt64BE(BigInt(packBytes), 16);
  let at = IDX_HEADER_BYTES;
  for (const entry of entries) {
    out[at] = entry.kind;
    entry.id.copy(out, at + 1);
    out.writeUIntBE(entry.offset, at + 33, 6);
    out.writeUInt32BE(entry.length, at + 39);
    at += IDX_ENTRY_BYTES;
  }
  sha256(out.subarray(0, at)).copy(out, at);
  return out;
}

/** Decodes an index, or returns why it cannot be trusted (then the pack is scanned instead). */
export function decodeIndex(bytes: Buffer): { entries: PackEntry[]; packBytes: number } | string {
  if (bytes.length < IDX_HEADER_BYTES + OBJECT_ID_BYTES) return 'index is torn';
  if (!bytes.subarray(0, 8).equals(IDX_MAGIC)) return 'not an index (bad magic)';
  if (bytes.readUInt32BE(8) !== PACK_FORMAT_VERSION) return `unknown index version ${bytes.readUInt32BE(8)}`;
  const count = bytes.readUInt32BE(12);
  const bodyEnd = IDX_HEADER_BYTES + count * IDX_ENTRY_BYTES;
  if (bytes.length !== bodyEnd + OBJECT_ID_BYTES) return `index length ${bytes.length} does not match its ${count} entries`;
  if (!sha256(bytes.subarray(0, bodyEnd)).equals(bytes.subarray(bodyEnd))) return 'index checksum mismatch';
  const packBytes = Number(bytes.readBigUInt64BE(16));
  const entries: PackEntry[] = [];
  for (let at = IDX_HEADER_BYTES; at < bodyEnd; at += IDX_ENTRY_BYTES) {
    const kind = bytes[at];
    if (kind !== ObjectKind.Blob && kind !== ObjectKind.Tree) return `unknown kind ${String(kind)} in index`;
    const offset = bytes.readUIntBE(at + 33, 6);
    const length = bytes.readUInt32BE(at + 39);
    if (offset + length > packBytes) return 'index entry points beyond the pack';
    entries.push({ kind, id: Buffer.from(bytes.subarray(at + 1, at + 33)), offset, length });
  }
  return { entries, packBytes };
}
