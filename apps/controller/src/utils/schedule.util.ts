import { createHash } from 'node:crypto';
import { parseExpression } from 'cron-parser';

/** A backup window as minutes of the day (0..1439) in the schedule's time zone; start > end wraps midnight. */
export interface BackupWindow {
  start: number;
  end: number;
}

const WINDOW = /^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$/;

export function isValidTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** Why a cron expression is refused (5 fields, or 6 with seconds first), or null. Parsed as BullMQ parses it. */
export function cronProblem(cron: string, timeZone: string): string | null {
  const fields = cron.trim().split(/\s+/).length;
  if (fields !== 5 && fields !== 6) return `must have 5 fields (minute hour day month weekday) or 6 (seconds first); got ${fields}`;
  try {
    parseExpression(cron, { tz: timeZone }).next();
    return null;
  } catch (error) {
    return `is not a valid cron expression (${error instanceof Error ? error.message : String(error)})`;
  }
}

/** "HH:MM-HH:MM" as a window, or null when the text is not one. */
export function parseWindow(text: string): BackupWindow | null {
  const match = WINDOW.exec(text);
  if (match === null) return null;
  const [, h1, m1, h2, m2] = match.map(Number);
  const window = { start: (h1 ?? 0) * 60 + (m1 ?? 0), end: (h2 ?? 0) * 60 + (m2 ?? 0) };
  return window.start === window.end ? null : window;
}

export function formatWindow(window: BackupWindow): string {
  const hhmm = (minutes: number): string => `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
  return `${hhmm(window.start)}-${hhmm(window.end)}`;
}

/** Minute of the day (0..1439) of an instant on the wall clock of a time zone. */
export function minuteOfDay(at: Date, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(at);
  const part = (type: string): number => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return part('hour') * 60 + part('minute');
}

/** Whether an instant is inside the window: start inclusive, end exclusive, wrapping midnight when start > end. */
export function isInWindow(at: Date, timeZone: string, window: BackupWindow): boolean {
  const minute = minuteOfDay(at, timeZone);
  return window.start < window.end ? minute >= window.start && minute < window.end : minute >= window.start || minute < window.end;
}

/**
 * A host's stable start offset within a schedule's spread: SHA-256 of the host id modulo the spread (in ms), so
 * the same host always starts at the same point of the spread and a fleet's starts are evenly scattered.
 */
export function spreadOffsetMs(hostId: string, spreadSeconds: number): number {
  if (spreadSeconds <= 0) return 0;
  return Number(createHash('sha256').update(hostId).digest().readBigUInt64BE(0) % BigInt(spreadSeconds * 1000));
}

/** The latest occurrence of the expression at or before `now`, or null when it has none. */
export function previousOccurrence(cron: string, timeZone: string, now: Date): Date | null {
  try {
    // cron-parser's prev() is strictly before currentDate; one millisecond later makes "at now" count.
    return parseExpression(cron, { tz: timeZone, currentDate: new Date(now.getTime() + 1) }).prev().toDate();
  } catch {
    return null;
  }
}
