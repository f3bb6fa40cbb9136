import { createHash, hash } from 'node:crypto';
import { RepositoryInputError } from './errors';
import { type ObjectId } from './model';

export const OBJECT_ID_BYTES = 32;

/** SHA-256 of the bytes: the id of a blob or an encoded tree. */
export function sha256(data: Uint8Array): Buffer {
  return hash('sha256', data, 'buffer');
}

/** sha256 of the parts joined, without joining them. */
export function sha256OfParts(parts: readonly Uint8Array[]): Buffer {
  const hasher = createHash('sha256');
  for (const part of parts) hasher.update(part);
  return hasher.digest();
}

export function objectIdHex(id: ObjectId): string {
  if (!Buffer.isBuffer(id) || id.length !== OBJECT_ID_BYTES) {
    throw new RepositoryInputError(`object id must be ${OBJECT_ID_BYTES} bytes, got ${describeLength(id)}`);
  }
  return id.toString('hex');
}

const HEX_ID = /^[0-9a-f]{64}$/;

/** Parses a lowercase 64-digit hex id (as stored in snapshot records). */
export function parseObjectId(hex: string): ObjectId {
  if (typeof hex !== 'string' || !HEX_ID.test(hex)) {
    throw new RepositoryInputError(`object id must be 64 lowercase hex digits, got ${JSON.stringify(String(hex)).slice(0, 80)}`);
  }
  return Buffer.from(hex, 'hex');
}

export function isObjectIdHex(hex: string): boolean {
  return HEX_ID.test(hex);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Host, snapshot and run ids become file names: only the lowercase uuid shape is accepted, so no path can escape. */
export function assertUuid(what: string, value: string): void {
  if (typeof value !== 'string' || !UUID.test(value)) {
    throw new RepositoryInputError(`${what} must be a lowercase uuid, got ${JSON.stringify(String(value)).slice(0, 80)}`);
  }
}

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

function describeLength(id: unknown): string {
  return Buffer.isBuffer(id) ? `${id.length} bytes` : typeof id;
}
