import { type AgentCredentialResponse, type EnrollmentSecretResponse, type RevokeCredentialsResponse } from '@berth/contracts';
import { agentEnrollCommand } from './host-format';
import { type Column, renderFields, renderTable } from './table';
import { formatTimestamp } from './units';

const CREDENTIAL_COLUMNS: readonly Column<AgentCredentialResponse>[] = [
  { header: 'ID', value: (c) => c.id },
  { header: 'CREATED', value: (c) => formatTimestamp(c.createdAt) },
  { header: 'LAST USED', value: (c) => formatTimestamp(c.lastUsedAt) },
  { header: 'REVOKED', value: (c) => (c.revokedAt === null ? 'no' : formatTimestamp(c.revokedAt)) },
];

export function formatCredentialTable(host: string, credentials: readonly AgentCredentialResponse[]): string {
  if (credentials.length === 0) return `Host ${host} has no agent credentials: its agent has not enrolled yet.\n`;
  return renderTable(credentials, CREDENTIAL_COLUMNS);
}

export function formatRevoked(host: string, result: RevokeCredentialsResponse): string {
  if (result.revoked.length === 0) return `Host ${host} had no valid credential to revoke; nothing changed.\n`;
  const runs = result.failedRuns.length === 0 ? '' : `Runs ended failed (agent credential revoked): ${result.failedRuns.join(' ')}\n`;
  return (
    `Revoked ${result.revoked.length} credential(s) of host ${host}: ${result.revoked.map((c) => c.id).join(' ')}\n` +
    runs +
    `Its agent can no longer reach the controller, the receiver or Redis. To let an agent in again: berth host reenroll ${host}\n`
  );
}

export function formatEnrollmentSecret(created: EnrollmentSecretResponse, controllerUrl: string): string {
  return (
    `New enrollment secret for host ${created.hostName} (id ${created.hostId}); an unused earlier one no longer works.\n` +
    renderFields([['enrollment secret', created.enrollmentSecret]]) +
    '\nThe secret is shown only once. On the client, run (an agent whose stored credential was revoked enrolls again with it):\n\n' +
    `  ${agentEnrollCommand(controllerUrl, created.enrollmentSecret)}\n`
  );
}
