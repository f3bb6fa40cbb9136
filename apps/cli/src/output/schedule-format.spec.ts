import { type GroupResponse, type ScheduleResponse } from '@berth/contracts';
import { sampleHost } from '../../test/fixtures';
import { formatGroupTable, formatHostSettings, formatSchedule } from './schedule-format';

const schedule: ScheduleResponse = { id: 's1', cron: '0 2 * * *', timeZone: 'Europe/Berlin', window: '01:00-05:00', spreadSeconds: 600, catchUp: 'one', lastTickAt: null };

describe('schedule output', () => {
  it('prints a schedule on one line', () => {
    expect(formatSchedule(schedule)).toBe('0 2 * * * Europe/Berlin, window 01:00-05:00, spread 600 s, catch-up one');
    expect(formatSchedule({ ...schedule, window: null, spreadSeconds: 0, catchUp: 'none' })).toBe('0 2 * * * Europe/Berlin, catch-up none');
    expect(formatSchedule(null)).toBe('(none)');
  });

  it('prints a host effective settings, saying where the schedule and the pause come from', () => {
    const host = sampleHost({ group: 'web', paths: [], effective: { paths: ['/srv'], excludes: ['*.tmp'], schedule, scheduleFrom: 'group', paused: true } });
    expect(formatHostSettings(host)).toBe(
      'Host web-1:\n' +
        'group:     web\n' +
        'paths:     /srv\n' +
        'excludes:  *.tmp\n' +
        'schedule:  0 2 * * * Europe/Berlin, window 01:00-05:00, spread 600 s, catch-up one (from group web)\n' +
        'paused:    yes (group web is paused)\n',
    );
  });

  it('lists groups in a table', () => {
    const group: GroupResponse = { id: 'g1', name: 'web', paths: ['/srv/www'], excludes: [], paused: false, schedule, hosts: ['web-1', 'web-2'], createdAt: '2026-11-25T10:00:00.000Z' };
    const lines = formatGroupTable([group]).split('\n');
    expect(lines[0]).toMatch(/^NAME\s+HOSTS\s+PAUSED\s+SCHEDULE\s+PATHS$/);
    expect(lines[1]).toMatch(/^web\s+2\s+no\s+0 2 \* \* \* Europe\/Berlin, window 01:00-05:00, spread 600 s, catch-up one\s+\/srv\/www$/);
    expect(formatGroupTable([])).toMatch(/^No groups yet/);
  });
});
