import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import { systemError } from './scan';

export { DirectoryScan, scanDirectoryWith, systemErrorMessage, type ScanCalls, type ScanField64 } from './scan';

/**
 * Nanosecond timestamps, FIFOs/device nodes and whole-directory scans. Node's fs.utimes takes float seconds
 * (about 1 us off at today's epoch), Node has no mknod, and its lstat costs an object of bigints per entry; a
 * small N-API addon (native/posix.c, built with the system C compiler by `nx build posix`) does all three
 * exactly and cheaply. Without it, the fallbacks keep working (with reduced fidelity for times and nodes, more
 * CPU for scans), and `nativeSupport()` says so.
 */

interface PosixAddon {
  setTimes(path: Buffer, atimeNs: bigint, mtimeNs: bigint, followSymlinks: boolean): void;
  mknod(path: Buffer, mode: number, rdev: bigint): void;
  scanDirectoryAsync(path: Buffer): Promise<Buffer>;
}

const execFileAsync = promisify(execFile);

function loadAddon(): PosixAddon | null {
  // Same location whether this file runs from src/ (tests) or dist/ (built).
  const addonPath = path.join(__dirname, '..', 'dist', 'posix.node');
  try {
    return createRequire(__filename)(addonPath) as PosixAddon;
  } catch {
    return null;
  }
}

const addon = loadAddon();

export function nativeSupport(): boolean {
  return addon !== null;
}

/**
 * Lists a directory (never following it if it is a symlink) and lstats every entry, in one call on a libuv
 * worker thread: the records `DirectoryScan` reads. Null without the addon: `scanDirectoryWith` gives the
 * same from Node's calls. Rejects with a Node-style error (code, errno, syscall "scandir") when the directory
 * cannot be listed.
 */
export const scanDirectory: ((path: Buffer) => Promise<Buffer>) | null =
  addon === null
    ? null
    : async (path) => {
        try {
          return await addon.scanDirectoryAsync(path);
        } catch (error) {
          const errno = (error as NodeJS.ErrnoException).errno;
          if (typeof errno !== 'number') throw error;
          throw systemError(-errno, 'scandir', path);
        }
      };

function toBuffer(p: Buffer | string): Buffer {
  return typeof p === 'string' ? Buffer.from(p) : p;
}

const NS_PER_SECOND = 1_000_000_000n;

function toSeconds(ns: bigint): number {
  return Number(ns / NS_PER_SECOND) + Number(ns % NS_PER_SECOND) / 1e9;
}

/** Sets access and modification times to the nanosecond; never follows a symlink unless asked. */
export async function setTimesNs(target: Buffer | string, atimeNs: bigint, mtimeNs: bigint, opts: { followSymlinks: boolean }): Promise<void> {
  if (addon) {
    addon.setTimes(toBuffer(target), atimeNs, mtimeNs, opts.followSymlinks);
    return;
  }
  if (opts.followSymlinks) await fs.utimes(target, toSeconds(atimeNs), toSeconds(mtimeNs));
  else await fs.lutimes(target, toSeconds(atimeNs), toSeconds(mtimeNs));
}

export const NodeKind = { Fifo: 0o010000, CharDevice: 0o020000, BlockDevice: 0o060000 } as const;
export type NodeKind = (typeof NodeKind)[keyof typeof NodeKind];

/** Linux dev_t encoding (glibc's gnu_dev_major/minor). */
export function deviceMajor(rdev: bigint): bigint {
  return ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn);
}
export function deviceMinor(rdev: bigint): bigint {
  return (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn);
}

/** Creates a FIFO or a device node with the given permission bits (subject to umask) and device number. */
export async function makeNode(target: Buffer | string, kind: NodeKind, permissions: number, rdev: bigint): Promise<void> {
  const mode = kind | (permissions & 0o7777);
  if (addon) {
    addon.mknod(toBuffer(target), mode, kind === NodeKind.Fifo ? 0n : rdev);
    return;
  }
  const name = typeof target === 'string' ? target : target.toString('latin1');
  if (typeof target !== 'string' && !Buffer.from(name, 'latin1').equals(target)) {
    throw new Error('cannot create a node with this name without the native addon');
  }
  const permissionArg = ['-m', (permissions & 0o7777).toString(8)];
  if (kind === NodeKind.Fifo) await execFileAsync('mkfifo', [...permissionArg, '--', name]);
  else {
    const type = kind === NodeKind.CharDevice ? 'c' : 'b';
    await execFileAsync('mknod', [...permissionArg, '--', name, type, deviceMajor(rdev).toString(), deviceMinor(rdev).toString()]);
  }
}
