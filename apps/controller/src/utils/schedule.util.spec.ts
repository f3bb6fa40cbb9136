import { cronProblem, formatWindow, isInWindow, isValidTimeZone, parseWindow, previousOccurrence, spreadOffsetMs } from './schedule.util';

describe('schedule utilities', () => {
  it('validates cron expressions of 5 or 6 fields and IANA time zones', () => {
    expect(cronProblem('0 2 * * *', 'Europe/Berlin')).toBeNull();
    expect(cronProblem('*/2 * * * * *', 'UTC')).toBeNull();
    expect(cronProblem('0 2 * *', 'UTC')).toMatch(/^must have 5 fields .*got 4$/);
    expect(cronProblem('0 25 * * *', 'UTC')).toMatch(/^is not a valid cron expression/);
    expect(isValidTimeZone('Europe/Berlin')).toBe(true);
    expect(isValidTimeZone('Mars/Olympus')).toBe(false);
  });

  it('parses and formats windows, refusing empty ones', () => {
    expect(parseWindow('01:00-05:30')).toEqual({ start: 60, end: 330 });
    expect(formatWindow({ start: 1380, end: 240 })).toBe('23:00-04:00');
    expect(parseWindow('1:00-05:00')).toBeNull();
    expect(parseWindow('05:00-05:00')).toBeNull();
    expect(parseWindow('24:00-05:00')).toBeNull();
  });

  it('tells whether an instant is in a window on the zone wall clock, wrapping midnight', () => {
    const at = new Date('2026-01-15T00:30:00Z'); // 01:30 in Berlin (CET)
    expect(isInWindow(at, 'Europe/Berlin', { start: 60, end: 300 })).toBe(true);
    expect(isInWindow(at, 'UTC', { start: 60, end: 300 })).toBe(false);
    expect(isInWindow(at, 'UTC', { start: 1380, end: 60 })).toBe(true);
    expect(isInWindow(new Date('2026-01-15T05:00:00Z'), 'UTC', { start: 60, end: 300 })).toBe(false);
  });

  it('gives each host a stable offset inside the spread', () => {
    const offsets = ['a', 'b', 'c', 'd'].map((id) => spreadOffsetMs(id, 600));
    expect(new Set(offsets).size).toBe(4);
    for (const offset of offsets) expect(offset).toBeGreaterThanOrEqual(0);
    for (const offset of offsets) expect(offset).toBeLessThan(600_000);
    expect(spreadOffsetMs('a', 600)).toBe(offsets[0]);
    expect(spreadOffsetMs('a', 0)).toBe(0);
  });

  it('finds the previous occurrence in the zone', () => {
    expect(previousOccurrence('0 2 * * *', 'UTC', new Date('2026-01-15T03:00:00Z'))?.toISOString()).toBe('2026-01-15T02:00:00.000Z');
    expect(previousOccurrence('0 2 * * *', 'Europe/Berlin', new Date('2026-01-15T03:00:00Z'))?.toISOString()).toBe('2026-01-15T01:00:00.000Z');
    expect(previousOccurrence('0 2 * * *', 'UTC', new Date('2026-01-15T02:00:00Z'))?.toISOString()).toBe('2026-01-15T02:00:00.000Z');
  });
});
