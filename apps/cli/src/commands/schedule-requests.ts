import { type CreateGroupRequest, ScheduleCatchUp, type ScheduleRequest, type UpdateHostRequest } from '@berth/contracts';
import { UsageError } from '../errors/cli-error';
import { requireAbsolute } from './options';

export interface ScheduleSetOptions {
  cron?: string;
  tz?: string;
  window?: string;
  spread?: string;
  catchUp?: string;
}

const WINDOW = /^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$/;
const SPREAD_MAX_SECONDS = 86_400;

/**
 * `berth schedule set TARGET --cron EXPR --tz ZONE [--window HH:MM-HH:MM] [--spread SECONDS] [--catch-up one|none]`
 * as a schedule request. The controller validates the expression and the zone; this checks what the command line
 * can say clearly on its own.
 */
export function buildScheduleRequest(options: ScheduleSetOptions): ScheduleRequest {
  const cron = options.cron?.trim() ?? '';
  if (cron === '') throw new UsageError('give --cron EXPR, e.g. --cron "0 2 * * *" (5 fields, or 6 with seconds first)');
  const timeZone = options.tz?.trim() ?? '';
  if (timeZone === '') throw new UsageError('give --tz ZONE, an IANA time zone such as Europe/Berlin or UTC');
  const request: ScheduleRequest = { cron, timeZone };
  if (options.window !== undefined) {
    if (!WINDOW.test(options.window)) throw new UsageError(`--window must be HH:MM-HH:MM, e.g. 01:00-05:00; got "${options.window}"`);
    request.window = options.window;
  }
  if (options.spread !== undefined) {
    const spread = /^\d+$/.test(options.spread) ? Number(options.spread) : NaN;
    if (!(spread >= 0 && spread <= SPREAD_MAX_SECONDS)) throw new UsageError(`--spread must be whole seconds from 0 to ${SPREAD_MAX_SECONDS}; got "${options.spread}"`);
    request.spreadSeconds = spread;
  }
  if (options.catchUp !== undefined) {
    const values: readonly string[] = Object.values(ScheduleCatchUp);
    if (!values.includes(options.catchUp)) throw new UsageError(`--catch-up must be ${values.join(' or ')}; got "${options.catchUp}"`);
    request.catchUp = options.catchUp as ScheduleCatchUp;
  }
  return request;
}

export interface HostSetOptions {
  group?: string | false;
  path: string[];
  exclude: string[];
}

/** `berth host set HOST [--group G | --no-group] [--path DIR...] [--exclude GLOB...]`: only what is given changes. */
export function buildUpdateHostRequest(options: HostSetOptions): UpdateHostRequest {
  const request: UpdateHostRequest = {};
  if (options.group === false) request.group = null;
  else if (options.group !== undefined) request.group = options.group;
  if (options.path.length > 0) request.paths = options.path.map((p) => requireAbsolute('--path', p, 'a directory on the client, e.g. /srv/data'));
  if (options.exclude.length > 0) request.excludes = options.exclude;
  if (Object.keys(request).length === 0) throw new UsageError('nothing to change: give --group G, --no-group, --path DIR or --exclude GLOB');
  return request;
}

/** `berth group add NAME [--path DIR...] [--exclude GLOB...]`. */
export function buildCreateGroupRequest(name: string, options: { path: string[]; exclude: string[] }): CreateGroupRequest {
  if (name.trim() === '') throw new UsageError('group name must not be empty');
  return {
    name,
    paths: options.path.map((p) => requireAbsolute('--path', p, 'a directory on the clients, e.g. /srv/www')),
    excludes: options.exclude,
  };
}
