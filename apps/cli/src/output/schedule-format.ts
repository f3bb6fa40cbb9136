import { type GroupResponse, type HostResponse, type ScheduleResponse } from '@berth/contracts';
import { renderFields, renderTable, type Column } from './table';

/** One line: `0 2 * * * Europe/Berlin, window 01:00-05:00, spread 600 s, catch-up one`. */
export function formatSchedule(schedule: ScheduleResponse | null): string {
  if (schedule === null) return '(none)';
  const parts = [`${schedule.cron} ${schedule.timeZone}`];
  if (schedule.window !== null) parts.push(`window ${schedule.window}`);
  if (schedule.spreadSeconds > 0) parts.push(`spread ${schedule.spreadSeconds} s`);
  parts.push(`catch-up ${schedule.catchUp}`);
  return parts.join(', ');
}

const GROUP_COLUMNS: readonly Column<GroupResponse>[] = [
  { header: 'NAME', value: (g) => g.name },
  { header: 'HOSTS', value: (g) => String(g.hosts.length), align: 'right' },
  { header: 'PAUSED', value: (g) => (g.paused ? 'yes' : 'no') },
  { header: 'SCHEDULE', value: (g) => formatSchedule(g.schedule) },
  { header: 'PATHS', value: (g) => (g.paths.length > 0 ? g.paths.join(' ') : '-') + (g.excludes.length > 0 ? `  (exclude ${g.excludes.join(' ')})` : '') },
];

export function formatGroupTable(groups: readonly GroupResponse[]): string {
  if (groups.length === 0) return 'No groups yet. Add one with `berth group add NAME --path DIR`.\n';
  return renderTable(groups, GROUP_COLUMNS);
}

/** What a host's backups use after a change: effective paths, excludes, schedule (and where it comes from), pause. */
export function formatHostSettings(host: HostResponse): string {
  const { effective } = host;
  const from = effective.scheduleFrom === 'group' ? ` (from group ${host.group ?? '?'})` : '';
  const paused = host.paused ? 'yes' : effective.paused ? `yes (group ${host.group ?? '?'} is paused)` : 'no';
  return (
    `Host ${host.name}:\n` +
    renderFields([
      ['group', host.group ?? '(none)'],
      ['paths', effective.paths.join(' ')],
      ['excludes', effective.excludes.length > 0 ? effective.excludes.join(' ') : '(none)'],
      ['schedule', formatSchedule(effective.schedule) + from],
      ['paused', paused],
    ])
  );
}

export function formatGroupSettings(group: GroupResponse): string {
  return (
    `Group ${group.name}:\n` +
    renderFields([
      ['hosts', group.hosts.length > 0 ? group.hosts.join(' ') : '(none)'],
      ['paths', group.paths.length > 0 ? group.paths.join(' ') : '(none)'],
      ['excludes', group.excludes.length > 0 ? group.excludes.join(' ') : '(none)'],
      ['schedule', formatSchedule(group.schedule)],
      ['paused', group.paused ? 'yes' : 'no'],
    ])
  );
}
