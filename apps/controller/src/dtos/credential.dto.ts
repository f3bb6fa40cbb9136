import { type AgentCredentialResponse, type EnrollmentSecretResponse } from '@berth/contracts';
import { type AgentCredential, type Host } from '../generated/prisma/client';

export function mapCredential(credential: AgentCredential): AgentCredentialResponse {
  return {
    id: credential.id,
    hostId: credential.hostId,
    createdAt: credential.createdAt.toISOString(),
    lastUsedAt: credential.lastUsedAt?.toISOString() ?? null,
    revokedAt: credential.revokedAt?.toISOString() ?? null,
  };
}

export function mapEnrollmentSecret(host: Pick<Host, 'id' | 'name'>, enrollmentSecret: string): EnrollmentSecretResponse {
  return { hostId: host.id, hostName: host.name, enrollmentSecret };
}
