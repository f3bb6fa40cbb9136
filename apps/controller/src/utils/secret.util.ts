import { API_TOKEN_PREFIX } from '@berth/contracts';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** Agent credentials start with this prefix so a leaked one is recognisable (and greppable in logs). */
export const AGENT_CREDENTIAL_PREFIX = 'berth_agent_';

/** 32 random bytes as base64url: the one-time enrollment secret shown once to the operator. */
export function generateEnrollmentSecret(): string {
  return randomBytes(32).toString('base64url');
}

export function generateAgentCredential(): string {
  return AGENT_CREDENTIAL_PREFIX + randomBytes(32).toString('base64url');
}

/** An operator API token: the prefix and 256 random bits. */
export function generateApiToken(): string {
  return API_TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

/** What listings show of a token: enough to tell tokens apart, far too little to guess the rest. */
export function tokenDisplayPrefix(token: string): string {
  return token.slice(0, API_TOKEN_PREFIX.length + 6);
}

/**
 * Secrets here are 256-bit random values, so a fast hash is enough to store them: no one can brute-force the
 * preimage, and an exact-match lookup by hash stays an index scan.
 */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Compares two strings in time independent of where they differ and of their lengths (digests are compared). */
export function constantTimeEquals(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}
