/** Builders of restore-stream messages for the writer and session tests. */
import { ContentHasher } from '@berth/delta';
import { EntryType, MessageType, type EntryMeta, type FileDataMessage, type FileEndMessage, type RestoreEntryMessage } from '@berth/wire';

export const MTIME = 1_700_000_000_123_456_789n;

export function meta(name: string | Buffer, type: EntryType, overrides: Partial<EntryMeta> = {}): EntryMeta {
  return {
    name: typeof name === 'string' ? Buffer.from(name) : name,
    type,
    mode: type === EntryType.Dir ? 0o755 : 0o644,
    uid: 0,
    gid: 0,
    mtimeNs: MTIME,
    ctimeNs: MTIME,
    ino: 1n,
    dev: 1n,
    size: 0n,
    nlink: 1,
    linkTarget: null,
    rdev: 0n,
    ...overrides,
  };
}

export function entryMessage(ordinal: number, path: string | Buffer, entry: EntryMeta, hardlinkOf: number | null = null): RestoreEntryMessage {
  return { type: MessageType.RestoreEntry, ordinal, path: typeof path === 'string' ? Buffer.from(path) : path, entry, hardlinkOf };
}

export function dataMessages(ordinal: number, content: Buffer, frame = 1024 * 1024): FileDataMessage[] {
  const out: FileDataMessage[] = [];
  for (let offset = 0; offset < content.length; offset += frame) {
    out.push({ type: MessageType.FileData, seq: 0, index: ordinal, data: content.subarray(offset, offset + frame) });
  }
  return out;
}

export function endMessage(ordinal: number, content: Buffer, error: string | null = null): FileEndMessage {
  return { type: MessageType.FileEnd, seq: 0, index: ordinal, size: BigInt(content.length), sha256: new ContentHasher().update(content).digest(), error };
}
