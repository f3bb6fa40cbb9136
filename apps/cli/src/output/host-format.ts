import { type CreateHostResponse, type HostResponse } from '@berth/contracts';
import { type Column, renderFields, renderTable } from './table';
import { formatTimestamp } from './units';

const HOST_COLUMNS: readonly Column<HostResponse>[] = [
  { header: 'NAME', value: (h) => h.name },
  { header: 'ID', value: (h) => h.id },
  { header: 'STATUS', value: (h) => h.status },
  { header: 'ENROLLED', value: (h) => (h.enrolled ? 'yes' : 'no') },
  { header: 'LAST SEEN', value: (h) => formatTimestamp(h.lastSeenAt) },
  { header: 'PATHS', value: (h) => h.paths.join(' ') + (h.excludes.length > 0 ? `  (exclude ${h.excludes.join(' ')})` : '') },
];

export function formatHostTable(hosts: readonly HostResponse[]): string {
  if (hosts.length === 0) return 'No hosts yet. Add one with `berth host add NAME --path DIR`.\n';
  return renderTable(hosts, HOST_COLUMNS);
}

/** Quotes a shell word only when it needs it, so the printed command can be pasted as is. */
export function shellQuote(word: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The command an operator runs on the client to enroll its agent. */
export function agentEnrollCommand(controllerUrl: string, enrollmentSecret: string): string {
  return ['berth', 'agent', '--controller', controllerUrl, '--enroll-secret', enrollmentSecret].map(shellQuote).join(' ');
}

export function formatHostCreated(created: CreateHostResponse, controllerUrl: string): string {
  const { host } = created;
  return (
    `Host ${host.name} added (id ${host.id}).\n` +
    renderFields([
      ['paths', host.paths.join(' ')],
      ['excludes', host.excludes.length > 0 ? host.excludes.join(' ') : '(none)'],
      ['enrollment secret', created.enrollmentSecret],
    ]) +
    '\nThe secret is shown only once. On the client, run:\n\n' +
    `  ${agentEnrollCommand(controllerUrl, created.enrollmentSecret)}\n`
  );
}
