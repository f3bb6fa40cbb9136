import { type Schedule } from '../generated/prisma/client';

/** The parts of a host and its group that decide what a backup of the host uses. */
export interface HostSettingsSource {
  paths: string[];
  excludes: string[];
  pausedAt: Date | null;
  schedule: Schedule | null;
  group: { paths: string[]; excludes: string[]; pausedAt: Date | null; schedule: Schedule | null } | null;
}

export interface EffectiveSettings {
  paths: string[];
  excludes: string[];
  schedule: Schedule | null;
  scheduleFrom: 'host' | 'group' | null;
  paused: boolean;
}

/**
 * The rule (controller README, "Host groups"): paths and schedule are overridden, not merged (a host's own
 * paths or schedule replace the group's); excludes are merged (the group's first, then the host's, without
 * repeats), so a group-wide exclude such as "*.tmp" cannot be lost by giving a host one more. A host is paused
 * when it or its group is.
 */
export function effectiveSettings(host: HostSettingsSource): EffectiveSettings {
  const group = host.group;
  const paths = host.paths.length > 0 || group === null ? host.paths : group.paths;
  const excludes = [...new Set([...(group?.excludes ?? []), ...host.excludes])];
  const schedule = host.schedule ?? group?.schedule ?? null;
  const scheduleFrom = host.schedule !== null ? 'host' : group?.schedule ? 'group' : null;
  return { paths, excludes, schedule, scheduleFrom, paused: host.pausedAt !== null || (group?.pausedAt ?? null) !== null };
}
