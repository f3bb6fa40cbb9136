import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type FileContent, type ObjectId, type TreeEntry, TreeEntryType } from '../src/model';

/** Temporary folders under the OS temp dir, removed by cleanup(). */
export function tempDirs(): { make(): Promise<string>; cleanup(): Promise<void> } {
  const made: string[] = [];
  return {
    async make() {
      const dir = await mkdtemp(join(tmpdir(), 'berth-repo-test-'));
      made.push(dir);
      return dir;
    },
    async cleanup() {
      await Promise.all(made.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
    },
  };
}

const base = { mode: 0o100644, uid: 1000, gid: 1000, mtimeNs: 1_700_000_000_123_456_789n, ctimeNs: 1_700_000_000_987_654_321n, ino: 42n, dev: 2049n, nlink: 1, rdev: 0n };

export function fileEntry(name: string | Buffer, content: FileContent, size: bigint): TreeEntry {
  return { ...base, name: toName(name), type: TreeEntryType.File, size, linkTarget: null, subtree: null, content };
}

export function dirEntry(name: string | Buffer, subtree: ObjectId): TreeEntry {
  return { ...base, name: toName(name), type: TreeEntryType.Dir, mode: 0o40755, size: 4096n, linkTarget: null, subtree, content: null, nlink: 2 };
}

export function symlinkEntry(name: string | Buffer, target: string): TreeEntry {
  const linkTarget = Buffer.from(target);
  return { ...base, name: toName(name), type: TreeEntryType.Symlink, mode: 0o120777, size: BigInt(linkTarget.length), linkTarget, subtree: null, content: null };
}

export function fifoEntry(name: string | Buffer): TreeEntry {
  return { ...base, name: toName(name), type: TreeEntryType.Fifo, mode: 0o10644, size: 0n, linkTarget: null, subtree: null, content: null };
}

function toName(name: string | Buffer): Buffer {
  return typeof name === 'string' ? Buffer.from(name) : name;
}

export const HOST_A = '0b7e4a0e-7d0c-4c53-9d6b-3a0f1f2e3d41';
export const HOST_B = '5f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b';
export const RUN_1 = 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d';
export const SNAP_1 = 'c0ffee00-1111-4222-8333-444455556666';
export const SNAP_2 = 'c0ffee00-1111-4222-8333-444455557777';

/** Flips bits of one byte in place, as disk rot would. */
export function flipBits(bytes: Buffer, at: number, mask: number): void {
  bytes.writeUInt8(bytes.readUInt8(at) ^ mask, at);
}
