import { Injectable } from '@nestjs/common';
import { type ScheduleSkipReason } from '@berth/contracts';
import { type Prisma, type Schedule } from '../generated/prisma/client';
import { type ScheduleSpec } from '../dtos/schedule.dto';
import { DatabaseRepository } from './database.repository';

/** Owner of a schedule: exactly one host or one group. */
export type ScheduleOwner = { hostId: string } | { groupId: string };

/** What a tick needs of each host it may start: its name for the record, and what decides its effective settings. */
const TARGET_HOST = { id: true, name: true, paths: true, excludes: true, pausedAt: true } as const satisfies Prisma.HostSelect;

/**
 * A schedule with the hosts a tick may start, in one read: its own host (with its group), or its group's hosts
 * without a schedule of their own, by name.
 */
const SCHEDULE_TARGETS = {
  host: { select: { ...TARGET_HOST, schedule: true, group: { include: { schedule: true } } } },
  group: { include: { hosts: { where: { schedule: { is: null } }, select: TARGET_HOST, orderBy: { name: 'asc' } } } },
} as const satisfies Prisma.ScheduleInclude;
export type ScheduleWithTargets = Prisma.ScheduleGetPayload<{ include: typeof SCHEDULE_TARGETS }>;

export interface TickRecord {
  scheduleId: string;
  firedAt: Date;
  catchUp: boolean;
  runsQueued: number;
  skipped: { host: string; reason: ScheduleSkipReason }[];
}

@Injectable()
export class ScheduleRepository {
  constructor(private readonly database: DatabaseRepository) {}

  /** Creates or replaces the owner's schedule; lastTickAt survives a change so catch-up stays honest. */
  upsert(owner: ScheduleOwner, spec: ScheduleSpec): Promise<Schedule> {
    const data = {
      cron: spec.cron,
      timeZone: spec.timeZone,
      windowStart: spec.window?.start ?? null,
      windowEnd: spec.window?.end ?? null,
      spreadSeconds: spec.spreadSeconds,
      catchUp: spec.catchUp,
    };
    const where = 'hostId' in owner ? { hostId: owner.hostId } : { groupId: owner.groupId };
    return this.database.client.schedule.upsert({ where, create: { ...owner, ...data }, update: data });
  }

  /** Removes the owner's schedule; returns its id, or null when it had none. */
  async remove(owner: ScheduleOwner): Promise<string | null> {
    const where = 'hostId' in owner ? { hostId: owner.hostId } : { groupId: owner.groupId };
    const existing = await this.database.client.schedule.findUnique({ where, select: { id: true } });
    if (existing === null) return null;
    await this.database.client.schedule.deleteMany({ where: { id: existing.id } });
    return existing.id;
  }

  list(): Promise<Schedule[]> {
    return this.database.client.schedule.findMany({ orderBy: { createdAt: 'asc' } });
  }

  findWithTargets(id: string): Promise<ScheduleWithTargets | null> {
    return this.database.client.schedule.findUnique({ where: { id }, include: SCHEDULE_TARGETS });
  }

  /**
   * Claims a boot catch-up of a schedule: moves lastTickAt from what the caller saw to `at`, only if no one else
   * did meanwhile (another replica booting at the same time, or a tick). True when this caller won.
   */
  async claimCatchUp(id: string, seenLastTickAt: Date | null, at: Date): Promise<boolean> {
    const { count } = await this.database.client.schedule.updateMany({ where: { id, lastTickAt: seenLastTickAt }, data: { lastTickAt: at } });
    return count === 1;
  }

  /** Records a tick and moves the schedule's lastTickAt, in one transaction. */
  async recordTick(tick: TickRecord): Promise<void> {
    await this.database.client.$transaction([
      this.database.client.scheduleTick.create({ data: tick }),
      this.database.client.schedule.updateMany({ where: { id: tick.scheduleId }, data: { lastTickAt: tick.firedAt } }),
    ]);
  }
}
