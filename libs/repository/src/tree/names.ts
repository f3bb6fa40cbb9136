import { RepositoryInputError } from '../errors';

export const MAX_NAME_BYTES = 255;
/** Linux PATH_MAX is 4096 including the terminating NUL. */
export const MAX_LINK_TARGET_BYTES = 4095;

const SLASH = 0x2f;
const DOT = 0x2e;

/** Why a name cannot be a directory entry, or null when it can. */
export function nameProblem(name: Buffer): string | null {
  if (!Buffer.isBuffer(name)) return 'is not a byte string';
  return nameRangeProblem(name, 0, name.length);
}

/** nameProblem for the name `bytes[start..end)`, checked in place (a large tree's names without a view of each). */
export function nameRangeProblem(bytes: Buffer, start: number, end: number): string | null {
  const length = end - start;
  if (length === 0) return 'is empty';
  if (length > MAX_NAME_BYTES) return `is ${length} bytes, more than ${MAX_NAME_BYTES}`;
  let slash = false;
  for (let i = start; i < end; i++) {
    const byte = bytes[i];
    if (byte === 0) return 'contains a NUL byte';
    if (byte === SLASH) slash = true;
  }
  if (slash) return "contains '/'";
  if (bytes[start] === DOT && (length === 1 || (length === 2 && bytes[start + 1] === DOT))) return "is '.' or '..'";
  return null;
}

export function assertValidName(name: Buffer, where: string): void {
  const problem = nameProblem(name);
  if (problem !== null) throw new RepositoryInputError(`${where}: name ${showBytes(name)} ${problem}`);
}

/** Renders raw bytes for an error message: printable ASCII as is, everything else as \xNN, cut at 120 bytes. */
export function showBytes(bytes: Buffer): string {
  if (!Buffer.isBuffer(bytes)) return String(bytes);
  let out = '';
  for (const byte of bytes.subarray(0, 120)) {
    out += byte >= 0x20 && byte < 0x7f && byte !== 0x5c && byte !== 0x22 ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  return `"${out}${bytes.length > 120 ? '...' : ''}"`;
}

/**
 * Splits an absolute (or relative) path into validated components; empty components from repeated or
 * leading/trailing slashes are dropped, '.' and '..' are refused.
 */
export function splitPath(path: Buffer): Buffer[] {
  const parts: Buffer[] = [];
  let start = 0;
  for (let i = 0; i <= path.length; i++) {
    if (i === path.length || path[i] === SLASH) {
      if (i > start) {
        const part = path.subarray(start, i);
        assertValidName(part, `path ${showBytes(path)}`);
        parts.push(part);
      }
      start = i + 1;
    }
  }
  return parts;
}
