/**
 * Cuts a directory listing into chunks of at most `maxEntries` entries and about `maxBytes` of encoded
 * metadata, so a 26,000-file directory never becomes one giant message.
 */
import { type EntryMeta } from '@berth/wire';

/** Upper bound of an entry's encoded size besides its name and link target (varints at their widest). */
const ENTRY_FIXED_BYTES = 96;
/** Chunk header: seq, dir length prefix, entry count, last flag, frame header. */
const CHUNK_FIXED_BYTES = 32;

export function entryBytes(entry: EntryMeta): number {
  return ENTRY_FIXED_BYTES + entry.name.length + (entry.linkTarget?.length ?? 0);
}

/** How many entries from `start` go into the next chunk (at least one when any are left). */
export function nextChunkLength(entries: readonly EntryMeta[], start: number, dir: Buffer, maxEntries: number, maxBytes: number): number {
  let bytes = CHUNK_FIXED_BYTES + dir.length;
  let count = 0;
  while (start + count < entries.length && count < maxEntries) {
    const size = entryBytes(entries[start + count]!);
    if (count > 0 && bytes + size > maxBytes) break;
    bytes += size;
    count += 1;
  }
  return count;
}
