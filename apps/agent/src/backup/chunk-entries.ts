/**
 * The entries of one chunk: `length` entries of a directory's list from `start`, read in place. A chunk of a
 * directory scan is packed for the wire from its columns, and an entry is read only where the transfer needs it
 * (the name and size of a file to send), so an unchanged entry costs no EntryMeta, no bigint and no name buffer.
 */
import { type EntryType } from '@berth/wire';
import { type EntryList, regularFiles } from '../walk/entry-list';
import { FILE } from '../walk/entry-meta';

export class ChunkEntries {
  constructor(
    private readonly list: EntryList,
    private readonly start: number,
    readonly length: number,
  ) {}

  name(index: number): Buffer {
    return this.list.name(this.start + index);
  }

  type(index: number): EntryType {
    return this.list.type(this.start + index);
  }

  /** True for a regular file of this chunk; false for another entry, or an index outside it (a peer's bad index). */
  isFile(index: number): boolean {
    return Number.isInteger(index) && index >= 0 && index < this.length && this.list.type(this.start + index) === FILE;
  }

  size(index: number): bigint {
    return this.list.size(this.start + index);
  }

  /** A regular file's size as a number, 0 for other entries. */
  fileBytes(index: number): number {
    return this.list.fileBytes(this.start + index);
  }

  /** Non-directory entries, and the bytes of the regular files among them. */
  regularFiles(): { files: number; bytes: number } {
    return regularFiles(this.list, this.start, this.length);
  }

  lastName(): Buffer | null {
    return this.length === 0 ? null : this.name(this.length - 1);
  }

  /** The entries packed for a PackedChunk. */
  pack(): Buffer {
    return this.list.pack(this.start, this.length);
  }
}
