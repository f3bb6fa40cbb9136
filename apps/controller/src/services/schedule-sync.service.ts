import { Injectable, Logger } from '@nestjs/common';
import { type ScheduleRequest } from '@berth/contracts';
import { toScheduleSpec } from '../dtos/schedule.dto';
import { DomainError } from '../errors/domain.error';
import { ErrorCode } from '../errors/error-code';
import { type Schedule } from '../generated/prisma/client';
import { ScheduleQueueRepository } from '../repositories/schedule-queue.repository';
import { type ScheduleOwner, ScheduleRepository } from '../repositories/schedule.repository';

/**
 * Keeps BullMQ's job schedulers in step with the schedules table: every change is written to the database first
 * (the source of truth), then mirrored to the scheduler. When Redis does not take it the caller gets 503 and
 * the schedule is mirrored by the next reconcile (every controller boot reconciles all of them).
 */
@Injectable()
export class ScheduleSyncService {
  private readonly logger = new Logger('ScheduleSync');

  constructor(
    private readonly schedules: ScheduleRepository,
    private readonly schedulerQueue: ScheduleQueueRepository,
  ) {}

  /** `undefined` leaves the owner's schedule as it is, `null` removes it, a request sets it. */
  async apply(owner: ScheduleOwner, request: ScheduleRequest | null | undefined): Promise<void> {
    if (request === undefined) return;
    if (request === null) {
      const removed = await this.schedules.remove(owner);
      if (removed !== null) await this.mirrored(() => this.schedulerQueue.removeScheduler(removed));
      return;
    }
    const schedule = await this.schedules.upsert(owner, toScheduleSpec(request));
    await this.mirrored(() => this.upsertScheduler(schedule));
  }

  /** Makes Redis hold exactly the database's schedulers: upserts every schedule, removes schedulers of no schedule. */
  async reconcileAll(): Promise<{ upserted: number; removed: number }> {
    const schedules = await this.schedules.list();
    const known = new Set(schedules.map((schedule) => schedule.id));
    for (const schedule of schedules) await this.upsertScheduler(schedule);
    const stale = (await this.schedulerQueue.listSchedulerScheduleIds()).filter((id) => !known.has(id));
    for (const id of stale) await this.schedulerQueue.removeScheduler(id);
    return { upserted: schedules.length, removed: stale.length };
  }

  private upsertScheduler(schedule: Schedule): Promise<void> {
    return this.schedulerQueue.upsertScheduler({ scheduleId: schedule.id, cron: schedule.cron, timeZone: schedule.timeZone });
  }

  private async mirrored(work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.logger.warn(`Schedule saved but not mirrored to Redis: ${message}`);
      throw new DomainError(ErrorCode.QueueUnavailable, `The schedule was saved but Redis did not take it (${message}); it takes effect once the controller reconciles schedules (at its next start)`);
    }
  }
}
