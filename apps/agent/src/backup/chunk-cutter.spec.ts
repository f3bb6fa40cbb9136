import { EntryType, type EntryMeta } from '@berth/wire';
import { entryBytes, nextChunkLength } from './chunk-cutter';

function entry(name: string): EntryMeta {
  return { name: Buffer.from(name), type: EntryType.File, mode: 0o644, uid: 0, gid: 0, mtimeNs: 0n, ctimeNs: 0n, ino: 1n, dev: 1n, size: 0n, nlink: 1, linkTarget: null, rdev: 0n };
}

describe('nextChunkLength', () => {
  const dir = Buffer.from('/d');
  const entries = Array.from({ length: 10 }, (_, i) => entry(`file-${i}`));

  it('stops at the entry limit', () => {
    expect(nextChunkLength(entries, 0, dir, 4, 1 << 20)).toBe(4);
    expect(nextChunkLength(entries, 8, dir, 4, 1 << 20)).toBe(2);
    expect(nextChunkLength(entries, 10, dir, 4, 1 << 20)).toBe(0);
  });

  it('stops at the byte limit but always takes one entry', () => {
    const one = entryBytes(entries[0]!);
    expect(nextChunkLength(entries, 0, dir, 100, 32 + dir.length + one * 3)).toBe(3);
    expect(nextChunkLength(entries, 0, dir, 100, 1)).toBe(1);
  });
});
