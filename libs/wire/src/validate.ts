import { WireError } from './errors';
import { MAX_NAME_BYTES, MAX_PATH_BYTES } from './messages';

const SLASH = 0x2f;
const DOT = 0x2e;

function describe(bytes: Buffer): string {
  return JSON.stringify(bytes.subarray(0, 64).toString('latin1'));
}

/** Why a single path component is unacceptable, or null when it is fine. */
export function nameProblem(name: Buffer): string | null {
  if (name.length === 0) return 'empty name';
  if (name.length > MAX_NAME_BYTES) return `name of ${name.length} bytes exceeds ${MAX_NAME_BYTES}`;
  if (name.includes(0)) return 'name contains a NUL byte';
  if (name.includes(SLASH)) return 'name contains "/"';
  if (name.length === 1 && name[0] === DOT) return 'name is "."';
  if (name.length === 2 && name[0] === DOT && name[1] === DOT) return 'name is ".."';
  return null;
}

/** One path component as raw bytes: 1..255 bytes, no "/", no NUL, not "." or "..". Throws WireError(bad_path). */
export function validateName(name: Buffer): void {
  const problem = nameProblem(name);
  if (problem !== null) throw WireError.badPath(`invalid name ${describe(name)}: ${problem}`);
}

/**
 * An absolute, normalized path: "/" alone, or "/" followed by valid names joined by single "/", no trailing
 * "/", at most MAX_PATH_BYTES. Throws WireError(bad_path).
 */
export function validateAbsolutePath(path: Buffer): void {
  if (path.length === 0) throw WireError.badPath('empty path');
  if (path.length > MAX_PATH_BYTES) throw WireError.badPath(`path of ${path.length} bytes exceeds ${MAX_PATH_BYTES}`);
  if (path[0] !== SLASH) throw WireError.badPath(`path ${describe(path)} is not absolute`);
  if (path.length === 1) return;
  validateComponents(path.subarray(1), path);
}

/** A relative, normalized path: one or more valid names joined by single "/". Throws WireError(bad_path). */
export function validateRelativePath(path: Buffer): void {
  if (path.length === 0) throw WireError.badPath('empty path');
  if (path.length > MAX_PATH_BYTES) throw WireError.badPath(`path of ${path.length} bytes exceeds ${MAX_PATH_BYTES}`);
  validateComponents(path, path);
}

function validateComponents(components: Buffer, whole: Buffer): void {
  let start = 0;
  for (;;) {
    const slash = components.indexOf(SLASH, start);
    const end = slash === -1 ? components.length : slash;
    const problem = nameProblem(components.subarray(start, end));
    if (problem !== null) throw WireError.badPath(`invalid path ${describe(whole)}: ${problem}`);
    if (slash === -1) return;
    start = slash + 1;
  }
}

/** Splits a validated absolute path into its components ("/" has none). */
export function pathComponents(path: Buffer): Buffer[] {
  if (path.length <= 1) return [];
  const parts: Buffer[] = [];
  let start = 1;
  for (;;) {
    const slash = path.indexOf(SLASH, start);
    if (slash === -1) {
      parts.push(path.subarray(start));
      return parts;
    }
    parts.push(path.subarray(start, slash));
    start = slash + 1;
  }
}

/** Joins a directory path and a child name: "/" + "a" -> "/a", "/a" + "b" -> "/a/b". */
export function joinPath(dir: Buffer, name: Buffer): Buffer {
  if (dir.length === 1 && dir[0] === SLASH) return Buffer.concat([dir, name]);
  return Buffer.concat([dir, Buffer.from([SLASH]), name]);
}

/** Parent of an absolute path ("/a/b" -> "/a", "/a" -> "/"); null for "/". */
export function parentPath(path: Buffer): Buffer | null {
  if (path.length <= 1) return null;
  const slash = path.lastIndexOf(SLASH);
  return slash <= 0 ? path.subarray(0, 1) : path.subarray(0, slash);
}
