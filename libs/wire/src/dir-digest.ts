/**
 * Protocol 4: the digest of a directory, Merkle style: SHA-256 over its entries' metadata (the plain entry
 * encoding of entry-codec.ts, in name order), each subdirectory entry followed by that subdirectory's own
 * digest. Equal digests mean the whole subtree's metadata is equal, so a receiver that stored the tree built
 * from that metadata can reuse it without seeing a single entry (the quick check, one directory at a time).
 *
 * The agent computes it from lstat; the receiver from the entries it stored. A file stored with a size other
 * than lstat's (it changed while read) or left out (unreadable) makes the two differ, so such a directory is
 * sent again next time.
 */
import { createHash } from 'node:crypto';
import { ByteWriter } from './byte-writer';
import { type EntryColumns, writeEntry, writeEntryColumns } from './entry-codec';
import { EntryType, type EntryMeta } from './messages';

export const DIR_DIGEST_BYTES = 32;
const DOMAIN = Buffer.from('berth directory digest 1\n');

/**
 * The digest of a directory with these entries (sorted by name), or null when the digest of one of its
 * subdirectories is unknown (`childDigest` returns null).
 */
export function directoryDigest(entries: readonly EntryMeta[], childDigest: (entry: EntryMeta) => Buffer | null): Buffer | null {
  const w = new ByteWriter(64 + entries.length * 56);
  w.raw(DOMAIN);
  w.varint(entries.length, 'digest.entries');
  for (const entry of entries) {
    writeEntry(w, entry);
    if (entry.type !== EntryType.Dir) continue;
    const child = childDigest(entry);
    if (child === null || child.length !== DIR_DIGEST_BYTES) return null;
    w.raw(child);
  }
  return createHash('sha256').update(w.finish()).digest();
}

/**
 * The same digest from entries read as columns (the agent's lstat scan: no EntryMeta, no bigint per entry).
 * `childDigest` is asked for each subdirectory entry, by index.
 */
export function directoryDigestOfColumns(columns: EntryColumns, count: number, childDigest: (index: number) => Buffer | null): Buffer | null {
  const w = new ByteWriter(64 + count * 56);
  w.raw(DOMAIN);
  w.varint(count, 'digest.entries');
  for (let index = 0; index < count; index++) {
    writeEntryColumns(w, columns, index);
    if (columns.type(index) !== EntryType.Dir) continue;
    const child = childDigest(index);
    if (child === null || child.length !== DIR_DIGEST_BYTES) return null;
    w.raw(child);
  }
  return createHash('sha256').update(w.finish()).digest();
}
