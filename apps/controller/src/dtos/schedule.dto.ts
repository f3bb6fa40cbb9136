import { ScheduleCatchUp, type ScheduleRequest, type ScheduleResponse } from '@berth/contracts';
import { registerDecorator, type ValidationArguments } from 'class-validator';
import { type Schedule } from '../generated/prisma/client';
import { type BackupWindow, cronProblem, formatWindow, isValidTimeZone, parseWindow } from '../utils/schedule.util';

/** Longest spread: a day (a fleet started over more than a day would overlap the next daily run). */
export const SPREAD_SECONDS_MAX = 86_400;
const CATCH_UP_VALUES: readonly string[] = Object.values(ScheduleCatchUp);
const FIELDS = ['cron', 'timeZone', 'window', 'spreadSeconds', 'catchUp'];

/** A validated schedule as the database keeps it. */
export interface ScheduleSpec {
  cron: string;
  timeZone: string;
  window: BackupWindow | null;
  spreadSeconds: number;
  catchUp: ScheduleCatchUp;
}

/** Why a schedule request is refused (naming the field), or null. `null` itself is allowed: it removes one. */
export function scheduleProblem(value: unknown, property: string): string | null {
  if (value === null) return null;
  if (typeof value !== 'object' || Array.isArray(value)) return `${property} must be an object {cron, timeZone, window?, spreadSeconds?, catchUp?} or null`;
  const extra = Object.keys(value).find((key) => !FIELDS.includes(key));
  if (extra !== undefined) return `property ${property}.${extra} should not exist`;
  const { cron, timeZone, window, spreadSeconds, catchUp } = value as Record<string, unknown>;
  if (typeof timeZone !== 'string' || !isValidTimeZone(timeZone)) return `${property}.timeZone must be an IANA time zone such as Europe/Berlin or UTC`;
  if (typeof cron !== 'string' || cron.length > 200) return `${property}.cron must be a cron expression such as "0 2 * * *"`;
  const cronIssue = cronProblem(cron, timeZone);
  if (cronIssue !== null) return `${property}.cron ${cronIssue}`;
  if (window !== undefined && window !== null && (typeof window !== 'string' || parseWindow(window) === null)) {
    return `${property}.window must be "HH:MM-HH:MM" with different start and end (e.g. "01:00-05:00")`;
  }
  if (spreadSeconds !== undefined && (typeof spreadSeconds !== 'number' || !Number.isInteger(spreadSeconds) || spreadSeconds < 0 || spreadSeconds > SPREAD_SECONDS_MAX)) {
    return `${property}.spreadSeconds must be a whole number from 0 to ${SPREAD_SECONDS_MAX}`;
  }
  if (catchUp !== undefined && (typeof catchUp !== 'string' || !CATCH_UP_VALUES.includes(catchUp))) return `${property}.catchUp must be one of ${CATCH_UP_VALUES.join(', ')}`;
  return null;
}

export function IsScheduleRequest(): PropertyDecorator {
  return (target: object, propertyName: string | symbol) => {
    registerDecorator({
      name: 'isScheduleRequest',
      target: target.constructor,
      propertyName: String(propertyName),
      validator: {
        validate: (value: unknown, args: ValidationArguments) => scheduleProblem(value, args.property) === null,
        defaultMessage: (args: ValidationArguments) => scheduleProblem(args.value, args.property) ?? `${args.property} is invalid`,
      },
    });
  };
}

/** A request that passed IsScheduleRequest, with defaults applied. */
export function toScheduleSpec(request: ScheduleRequest): ScheduleSpec {
  return {
    cron: request.cron.trim(),
    timeZone: request.timeZone,
    window: request.window === undefined || request.window === null ? null : parseWindow(request.window),
    spreadSeconds: request.spreadSeconds ?? 0,
    catchUp: request.catchUp ?? ScheduleCatchUp.One,
  };
}

export function scheduleWindow(schedule: Pick<Schedule, 'windowStart' | 'windowEnd'>): BackupWindow | null {
  return schedule.windowStart === null || schedule.windowEnd === null ? null : { start: schedule.windowStart, end: schedule.windowEnd };
}

export function mapSchedule(schedule: Schedule): ScheduleResponse {
  const window = scheduleWindow(schedule);
  return {
    id: schedule.id,
    cron: schedule.cron,
    timeZone: schedule.timeZone,
    window: window === null ? null : formatWindow(window),
    spreadSeconds: schedule.spreadSeconds,
    catchUp: schedule.catchUp,
    lastTickAt: schedule.lastTickAt?.toISOString() ?? null,
  };
}
