/**
 * The three filesystem calls the walk makes, always on Buffer paths (names stay raw bytes) and never
 * following a symlink. Injectable so a test can inject a fault (EACCES as root, a directory vanishing);
 * production uses `nodeWalkFs`.
 */
import { type BigIntStats } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';

export interface WalkFs {
  readdir(path: Buffer): Promise<Buffer[]>;
  lstat(path: Buffer): Promise<BigIntStats>;
  readlink(path: Buffer): Promise<Buffer>;
}

export const nodeWalkFs: WalkFs = {
  readdir: (path) => readdir(path, { encoding: 'buffer' }),
  lstat: (path) => lstat(path, { bigint: true }),
  readlink: (path) => readlink(path, { encoding: 'buffer' }),
};
