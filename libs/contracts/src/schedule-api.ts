/**
 * Schedules, host groups and pausing (operator API). A schedule belongs to one host or one group; a host's
 * effective settings are its own when set, else its group's (see the controller README, "Host groups").
 */

export const ScheduleCatchUp = {
  /** One run per host at boot when the controller was down over an occurrence. */
  One: 'one',
  None: 'none',
} as const;
export type ScheduleCatchUp = (typeof ScheduleCatchUp)[keyof typeof ScheduleCatchUp];

export interface ScheduleRequest {
  /** Cron expression: 5 fields, or 6 with seconds first (e.g. "0 2 * * *", "*\/5 * * * * *"). */
  cron: string;
  /** IANA time zone of the expression and of the window, e.g. "Europe/Berlin". */
  timeZone: string;
  /** Backup window "HH:MM-HH:MM" in timeZone (a start after the end wraps midnight); no run starts outside it. */
  window?: string | null;
  /** Hosts of the schedule start spread over this many seconds, each at a stable offset (default 0). */
  spreadSeconds?: number;
  /** Missed occurrences while no controller ran: one catch-up run per host at boot, or none (default one). */
  catchUp?: ScheduleCatchUp;
}

export interface ScheduleResponse {
  id: string;
  cron: string;
  timeZone: string;
  window: string | null;
  spreadSeconds: number;
  catchUp: ScheduleCatchUp;
  lastTickAt: string | null;
}

/** Why a scheduled tick started no run for a host. */
export const ScheduleSkipReason = {
  OutsideWindow: 'outside_window',
  Paused: 'paused',
  RunInProgress: 'run_in_progress',
  /** Neither the host nor its group has paths. */
  NoPaths: 'no_paths',
  /** Redis did not take the job (the run was ended as failed). */
  QueueUnavailable: 'queue_unavailable',
} as const;
export type ScheduleSkipReason = (typeof ScheduleSkipReason)[keyof typeof ScheduleSkipReason];

export interface CreateGroupRequest {
  name: string;
  paths?: string[];
  excludes?: string[];
  schedule?: ScheduleRequest;
}

/** Absent fields are left as they are; `schedule: null` removes the schedule. */
export interface UpdateGroupRequest {
  paths?: string[];
  excludes?: string[];
  schedule?: ScheduleRequest | null;
}

export interface GroupResponse {
  id: string;
  name: string;
  paths: string[];
  excludes: string[];
  paused: boolean;
  schedule: ScheduleResponse | null;
  /** Names of the group's hosts. */
  hosts: string[];
  createdAt: string;
}

/** Absent fields are left as they are; `group: null` leaves the group, `schedule: null` removes the host's own schedule. */
export interface UpdateHostRequest {
  group?: string | null;
  paths?: string[];
  excludes?: string[];
  schedule?: ScheduleRequest | null;
}

/** What a host's backups use: its own paths and schedule when set, else its group's; excludes of both. */
export interface EffectiveHostSettings {
  paths: string[];
  excludes: string[];
  schedule: ScheduleResponse | null;
  /** Where the schedule comes from. */
  scheduleFrom: 'host' | 'group' | null;
  /** The host or its group is paused: no scheduled runs. */
  paused: boolean;
}
