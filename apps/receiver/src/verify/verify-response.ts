import { type VerifySessionResponse } from '@berth/contracts';
import { ErrorCode, WireError } from '@berth/wire';

function fail(what: string): never {
  throw new WireError(ErrorCode.Internal, `cannot verify the session: controller response has ${what}`);
}

function str(value: unknown, field: string): string {
  if (typeof value !== 'string' || value === '') fail(`no ${field}`);
  return value;
}

/** Checks the controller's answer field by field instead of trusting its shape. */
export function parseVerifyResponse(body: unknown): VerifySessionResponse {
  if (typeof body !== 'object' || body === null) fail('no JSON object');
  const b = body as Record<string, unknown>;
  const kind = b['kind'];
  if (kind !== 'backup' && kind !== 'restore') fail('an unknown kind');
  const attempt = b['attempt'];
  if (typeof attempt !== 'number' || !Number.isInteger(attempt) || attempt < 0) fail('no attempt');
  return {
    credentialId: str(b['credentialId'], 'credentialId'),
    hostId: str(b['hostId'], 'hostId'),
    hostName: str(b['hostName'], 'hostName'),
    runId: str(b['runId'], 'runId'),
    kind,
    attempt,
    restore: parseRestore(b['restore']),
  };
}

function parseRestore(value: unknown): VerifySessionResponse['restore'] {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'object') fail('a malformed restore');
  const r = value as Record<string, unknown>;
  const subPath = r['subPath'];
  if (subPath !== null && subPath !== undefined && typeof subPath !== 'string') fail('a malformed restore.subPath');
  return { snapshotId: str(r['snapshotId'], 'restore.snapshotId'), sourceHostId: str(r['sourceHostId'], 'restore.sourceHostId'), subPath: subPath ?? null };
}

/** The controller's answer to a credential check: the ids among those asked about that must no longer be used. */
export function parseInvalidCredentials(body: unknown, asked: readonly string[]): string[] {
  const invalid = typeof body === 'object' && body !== null ? (body as Record<string, unknown>)['invalid'] : undefined;
  if (!Array.isArray(invalid) || !invalid.every((id): id is string => typeof id === 'string')) {
    throw new WireError(ErrorCode.Internal, 'cannot check credentials: controller response has no invalid list');
  }
  const askedSet = new Set(asked);
  return invalid.filter((id) => askedSet.has(id));
}
