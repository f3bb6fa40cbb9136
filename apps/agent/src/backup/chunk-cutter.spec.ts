import { EntryType, type EntryMeta } from '@berth/wire';
import { MetaEntryList } from '../walk/entry-list';
import { entryBytes, nextChunkLength, resumeIndex } from './chunk-cutter';

function entry(name: string): EntryMeta {
  return { name: Buffer.from(name), type: EntryType.File, mode: 0o644, uid: 0, gid: 0, mtimeNs: 0n, ctimeNs: 0n, ino: 1n, dev: 1n, size: 0n, nlink: 1, linkTarget: null, rdev: 0n };
}

describe('nextChunkLength', () => {
  const dir = Buffer.from('/d');
  const entries = new MetaEntryList(Array.from({ length: 10 }, (_, i) => entry(`file-${i}`)));

  it('stops at the entry limit', () => {
    expect(nextChunkLength(entries, 0, dir, 4, 1 << 20)).toBe(4);
    expect(nextChunkLength(entries, 8, dir, 4, 1 << 20)).toBe(2);
    expect(nextChunkLength(entries, 10, dir, 4, 1 << 20)).toBe(0);
  });

  it('stops at the byte limit but always takes one entry', () => {
    const one = entryBytes(entries, 0);
    expect(nextChunkLength(entries, 0, dir, 100, 32 + dir.length + one * 3)).toBe(3);
    expect(nextChunkLength(entries, 0, dir, 100, 1)).toBe(1);
  });

  it('stops at the content limit (regular files by size) but always takes one entry, however large', () => {
    const files = [1000n, 3000n, 5000n, 0n, 100_000n].map((size, i) => ({ ...entry(`f${i}`), size }));
    const sized = new MetaEntryList(files);
    const dirEntry = { ...entry('sub'), type: EntryType.Dir, size: 1_000_000n };
    expect(nextChunkLength(sized, 0, dir, 100, 1 << 20, 4000)).toBe(2);
    expect(nextChunkLength(sized, 2, dir, 100, 1 << 20, 4000)).toBe(1);
    expect(nextChunkLength(sized, 2, dir, 100, 1 << 20, 5000)).toBe(2);
    expect(nextChunkLength(sized, 4, dir, 100, 1 << 20, 4000)).toBe(1);
    // A directory's size is not content.
    expect(nextChunkLength(new MetaEntryList([dirEntry, ...files]), 0, dir, 100, 1 << 20, 4000)).toBe(3);
  });
});

describe('resumeIndex', () => {
  const entries = new MetaEntryList(['a', 'b', 'c', 'e'].map(entry));

  it('continues after the last committed name, whether or not that entry still exists', () => {
    expect(resumeIndex(entries, undefined)).toBe(0);
    expect(resumeIndex(entries, Buffer.from('b'))).toBe(2);
    expect(resumeIndex(entries, Buffer.from('d'))).toBe(3);
    expect(resumeIndex(entries, Buffer.from('e'))).toBe(4);
    expect(resumeIndex(entries, Buffer.from('0'))).toBe(0);
  });
});
