import { AGENT_CREDENTIAL_PREFIX, constantTimeEquals, generateAgentCredential, generateEnrollmentSecret, hashSecret } from './secret.util';

describe('secrets', () => {
  it('generates 256-bit base64url secrets and prefixed credentials', () => {
    const secret = generateEnrollmentSecret();
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(generateEnrollmentSecret()).not.toBe(secret);
    expect(generateAgentCredential()).toMatch(new RegExp(`^${AGENT_CREDENTIAL_PREFIX}[A-Za-z0-9_-]{43}$`));
  });

  it('hashes with SHA-256 (hex)', () => {
    expect(hashSecret('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('compares exactly, whatever the lengths', () => {
    expect(constantTimeEquals('token-value', 'token-value')).toBe(true);
    expect(constantTimeEquals('token-valuE', 'token-value')).toBe(false);
    expect(constantTimeEquals('token', 'token-value')).toBe(false);
    expect(constantTimeEquals('', 'x')).toBe(false);
  });
});
