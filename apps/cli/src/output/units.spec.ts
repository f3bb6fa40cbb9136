import { elapsedMs, formatBytes, formatCount, formatDuration, formatRate, formatTimestamp } from './units';

describe('units', () => {
  it('formats bytes with binary prefixes', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1024)).toBe('1.0 KiB');
    expect(formatBytes(6 * 1024 * 1024)).toBe('6.0 MiB');
    expect(formatBytes(150 * 1024 * 1024)).toBe('150 MiB');
    expect(formatBytes(-1)).toBe('-');
  });

  it('formats rates, counts and durations', () => {
    expect(formatRate(2.5 * 1024 * 1024)).toBe('2.5 MiB/s');
    expect(formatCount(1234567)).toBe('1,234,567');
    expect(formatDuration(850)).toBe('850 ms');
    expect(formatDuration(4200)).toBe('4.2 s');
    expect(formatDuration(187_000)).toBe('3m07s');
    expect(formatDuration(2 * 3600_000 + 5 * 60_000)).toBe('2h05m');
  });

  it('formats timestamps in local time and measures elapsed time', () => {
    const local = new Date(2026, 10, 25, 7, 5, 9);
    expect(formatTimestamp(local.toISOString())).toBe('2026-11-25 07:05:09');
    expect(formatTimestamp(null)).toBe('-');
    expect(elapsedMs('2026-11-25T10:00:00.000Z', '2026-11-25T10:00:02.500Z')).toBe(2500);
    expect(elapsedMs(null, null)).toBeNull();
    expect(elapsedMs('2026-11-25T10:00:00.000Z', null, new Date('2026-11-25T10:00:01.000Z'))).toBe(1000);
  });
});
