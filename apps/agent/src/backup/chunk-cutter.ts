/**
 * Cuts a directory listing into chunks of at most `maxEntries` entries, about `maxBytes` of encoded
 * metadata and about CHUNK_MAX_CONTENT_BYTES of file content, so a 26,000-file directory never becomes one
 * giant message, and a chunk (the unit the receiver journals as a resume point) holds a bounded amount of data:
 * after a failure, at most about one chunk's content (plus the part of one larger file) is sent again.
 */
import { type EntryList } from '../walk/entry-list';

/** Upper bound of an entry's encoded size besides its name and link target (varints at their widest). */
const ENTRY_FIXED_BYTES = 96;
/** Chunk header: seq, dir length prefix, entry count, last flag, frame header. */
const CHUNK_FIXED_BYTES = 32;
/** Content of the regular files of one chunk, by their lstat size; a larger single file makes a chunk alone. */
export const CHUNK_MAX_CONTENT_BYTES = 4 * 1024 * 1024;

/** Entry `index`'s encoded size at most. */
export function entryBytes(list: EntryList, index: number): number {
  return ENTRY_FIXED_BYTES + list.nameLength(index) + (list.linkTarget(index)?.length ?? 0);
}

/** How many entries from `start` go into the next chunk (at least one when any are left). */
export function nextChunkLength(
  entries: EntryList,
  start: number,
  dir: Buffer,
  maxEntries: number,
  maxBytes: number,
  maxContentBytes: number = CHUNK_MAX_CONTENT_BYTES,
): number {
  let bytes = CHUNK_FIXED_BYTES + dir.length;
  let content = 0;
  let count = 0;
  while (start + count < entries.length && count < maxEntries) {
    const size = entryBytes(entries, start + count);
    const fileBytes = entries.fileBytes(start + count);
    if (count > 0 && (bytes + size > maxBytes || content + fileBytes > maxContentBytes)) break;
    bytes += size;
    content += fileBytes;
    count += 1;
  }
  return count;
}

/** Index of the first entry named after `after` (entries are sorted by name bytes): where a resumed directory continues. */
export function resumeIndex(entries: EntryList, after: Buffer | undefined): number {
  if (after === undefined) return 0;
  let index = 0;
  while (index < entries.length && Buffer.compare(entries.name(index), after) <= 0) index += 1;
  return index;
}
