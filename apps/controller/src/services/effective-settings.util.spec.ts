import { type Schedule } from '../generated/prisma/client';
import { effectiveSettings, type HostSettingsSource } from './effective-settings.util';

const at = new Date('2026-11-25T10:00:00Z');
function schedule(id: string): Schedule {
  return { id, hostId: null, groupId: null, cron: '0 2 * * *', timeZone: 'UTC', windowStart: null, windowEnd: null, spreadSeconds: 0, catchUp: 'one', lastTickAt: null, createdAt: at, updatedAt: at };
}
const group = { paths: ['/srv'], excludes: ['*.tmp'], pausedAt: null, schedule: schedule('g') };
function host(overrides: Partial<HostSettingsSource>): HostSettingsSource {
  return { paths: [], excludes: [], pausedAt: null, schedule: null, group, ...overrides };
}

describe('effectiveSettings', () => {
  it('takes the group paths and schedule when the host has none', () => {
    expect(effectiveSettings(host({}))).toEqual({ paths: ['/srv'], excludes: ['*.tmp'], schedule: group.schedule, scheduleFrom: 'group', paused: false });
  });

  it('lets the host override paths and schedule, and merges excludes without repeats', () => {
    const own = schedule('h');
    const settings = effectiveSettings(host({ paths: ['/etc'], excludes: ['*.log', '*.tmp'], schedule: own }));
    expect(settings).toEqual({ paths: ['/etc'], excludes: ['*.tmp', '*.log'], schedule: own, scheduleFrom: 'host', paused: false });
  });

  it('is paused when the host or its group is', () => {
    expect(effectiveSettings(host({ pausedAt: at })).paused).toBe(true);
    expect(effectiveSettings(host({ group: { ...group, pausedAt: at } })).paused).toBe(true);
    expect(effectiveSettings(host({ paths: ['/a'], group: null }))).toEqual({ paths: ['/a'], excludes: [], schedule: null, scheduleFrom: null, paused: false });
  });
});
