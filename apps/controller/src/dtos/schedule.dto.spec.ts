import { type Schedule } from '../generated/prisma/client';
import { mapSchedule, scheduleProblem, toScheduleSpec } from './schedule.dto';

describe('schedule requests', () => {
  it('accepts a full request and null (removal), and applies defaults', () => {
    expect(scheduleProblem({ cron: '0 2 * * *', timeZone: 'Europe/Berlin', window: '23:00-04:00', spreadSeconds: 600, catchUp: 'none' }, 'schedule')).toBeNull();
    expect(scheduleProblem(null, 'schedule')).toBeNull();
    expect(toScheduleSpec({ cron: ' 0 2 * * * ', timeZone: 'UTC' })).toEqual({ cron: '0 2 * * *', timeZone: 'UTC', window: null, spreadSeconds: 0, catchUp: 'one' });
    expect(toScheduleSpec({ cron: '0 2 * * *', timeZone: 'UTC', window: '23:00-04:00' }).window).toEqual({ start: 1380, end: 240 });
  });

  it('names the field that is wrong', () => {
    expect(scheduleProblem('daily', 'schedule')).toMatch(/^schedule must be an object/);
    expect(scheduleProblem({ cron: '0 2 * * *' }, 'schedule')).toMatch(/^schedule\.timeZone must be an IANA time zone/);
    expect(scheduleProblem({ cron: 7, timeZone: 'UTC' }, 'schedule')).toMatch(/^schedule\.cron must be a cron expression/);
    expect(scheduleProblem({ cron: '0 2 * * *', timeZone: 'UTC', spreadSeconds: 1.5 }, 'schedule')).toMatch(/^schedule\.spreadSeconds must be a whole number/);
    expect(scheduleProblem({ cron: '0 2 * * *', timeZone: 'UTC', window: '02:00-02:00' }, 'schedule')).toMatch(/^schedule\.window must be "HH:MM-HH:MM" with different start and end/);
  });

  it('maps a stored schedule with its window as text', () => {
    const at = new Date('2026-11-25T10:00:00.000Z');
    const stored: Schedule = { id: 's1', hostId: 'h1', groupId: null, cron: '0 2 * * *', timeZone: 'UTC', windowStart: 60, windowEnd: 300, spreadSeconds: 30, catchUp: 'one', lastTickAt: at, createdAt: at, updatedAt: at };
    expect(mapSchedule(stored)).toEqual({ id: 's1', cron: '0 2 * * *', timeZone: 'UTC', window: '01:00-05:00', spreadSeconds: 30, catchUp: 'one', lastTickAt: '2026-11-25T10:00:00.000Z' });
    expect(mapSchedule({ ...stored, windowStart: null, windowEnd: null, lastTickAt: null })).toMatchObject({ window: null, lastTickAt: null });
  });
});
