import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { ScheduleSkipReason } from '@berth/contracts';
import { scheduleWindow } from '../dtos/schedule.dto';
import { ScheduleQueueRepository } from '../repositories/schedule-queue.repository';
import { ScheduleRepository, type ScheduleWithTargets, type TickRecord } from '../repositories/schedule.repository';
import { isInWindow, previousOccurrence, spreadOffsetMs } from '../utils/schedule.util';
import { effectiveSettings } from './effective-settings.util';
import { type BackupStart, RunService } from './run.service';
import { ScheduleSyncService } from './schedule-sync.service';

/**
 * A tick delivered this late was due while no controller ran: it is dropped, and the boot catch-up (per the
 * schedule's policy) stands for it, so that `catchUp: none` really starts nothing.
 */
export const STALE_TICK_MS = 60_000;
/** How often a controller that booted without Redis tries again to start scheduling. */
const BOOT_RETRY_MS = 30_000;

export interface TickOutcome {
  runsQueued: number;
  skipped: TickRecord['skipped'];
}

/**
 * Runs schedules: at boot, mirrors every schedule to its BullMQ job scheduler, fires one catch-up tick for
 * schedules that missed an occurrence (policy `one`), then starts the worker of the schedule queue. A tick starts
 * a backup of each host of the schedule that is not paused and whose start (the tick plus its stable spread
 * offset) falls in the window, by the rules of a manual backup (job id = run id, one active backup per host) but in
 * one batch (RunService.startBackups: one transaction, jobs added in MULTI blocks), with each job delayed by its
 * host's offset.
 */
@Injectable()
export class ScheduleTickService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Scheduler');
  private retryTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly schedules: ScheduleRepository,
    private readonly scheduleSync: ScheduleSyncService,
    private readonly schedulerQueue: ScheduleQueueRepository,
    private readonly runService: RunService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.startScheduling();
  }

  onModuleDestroy(): void {
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  /**
   * Reconciles, catches up, then starts the tick worker. Without Redis the boot goes on (the API serves; manual
   * backups answer 503) and this is tried again every BOOT_RETRY_MS until Redis answers.
   */
  private async startScheduling(): Promise<void> {
    this.retryTimer = null;
    if (!this.schedulerQueue.isReady()) {
      this.logger.warn(`Redis is not reachable: schedules start once it is (checked every ${BOOT_RETRY_MS / 1000} s)`);
      this.retryTimer = setTimeout(() => void this.startScheduling(), BOOT_RETRY_MS);
      this.retryTimer.unref();
      return;
    }
    try {
      const { upserted, removed } = await this.scheduleSync.reconcileAll();
      this.logger.log(`${upserted} schedule(s) mirrored to BullMQ job schedulers, ${removed} stale scheduler(s) removed`);
      await this.catchUp(new Date());
    } catch (error) {
      this.logger.warn(`Schedules not reconciled at boot: ${error instanceof Error ? error.message : String(error)}`);
    }
    this.schedulerQueue.startWorker((scheduleId, firedAt) => this.onTick(scheduleId, firedAt));
  }

  /** One catch-up tick per schedule (policy `one`) whose last tick is older than its latest occurrence. */
  async catchUp(now: Date): Promise<number> {
    let fired = 0;
    for (const schedule of await this.schedules.list()) {
      if (schedule.catchUp !== 'one') continue;
      const missed = previousOccurrence(schedule.cron, schedule.timeZone, now);
      const since = schedule.lastTickAt ?? schedule.createdAt;
      if (missed === null || since >= missed) continue;
      if (!(await this.schedules.claimCatchUp(schedule.id, schedule.lastTickAt, now))) continue;
      this.logger.log(`Schedule ${schedule.id} missed its run of ${missed.toISOString()}: one catch-up run per host`);
      await this.tick(schedule.id, now, true);
      fired += 1;
    }
    return fired;
  }

  private async onTick(scheduleId: string, firedAt: Date): Promise<void> {
    const lateMs = Date.now() - firedAt.getTime();
    if (lateMs > STALE_TICK_MS) {
      this.logger.warn(`Tick of schedule ${scheduleId} due at ${firedAt.toISOString()} dropped (${Math.round(lateMs / 1000)} s late; the boot catch-up stands for it)`);
      return;
    }
    await this.tick(scheduleId, firedAt, false);
  }

  /** Starts the schedule's hosts' backups as of `firedAt` and records the tick; null when the schedule is gone. */
  async tick(scheduleId: string, firedAt: Date, catchUp: boolean): Promise<TickOutcome | null> {
    const startedAt = Date.now();
    const cpuAtStart = process.cpuUsage();
    const schedule = await this.schedules.findWithTargets(scheduleId);
    if (schedule === null) {
      // Deleted with its owner while the scheduler still ran (or a stale scheduler): stop it.
      await this.schedulerQueue.removeScheduler(scheduleId);
      return null;
    }
    const outcome: TickOutcome = { runsQueued: 0, skipped: [] };
    const window = scheduleWindow(schedule);
    const skip = new Map<string, ScheduleSkipReason>();
    const starts: BackupStart[] = [];
    const hosts = tickTargets(schedule);
    for (const host of hosts) {
      const startsAt = new Date(firedAt.getTime() + spreadOffsetMs(host.id, schedule.spreadSeconds));
      if (effectiveSettings(host).paused) skip.set(host.id, ScheduleSkipReason.Paused);
      else if (window !== null && !isInWindow(startsAt, schedule.timeZone, window)) skip.set(host.id, ScheduleSkipReason.OutsideWindow);
      else starts.push({ host, notBefore: startsAt });
    }
    const started = await this.runService.startBackups(starts);
    for (const hostId of started.active) skip.set(hostId, ScheduleSkipReason.RunInProgress);
    for (const hostId of started.noPaths) skip.set(hostId, ScheduleSkipReason.NoPaths);
    for (const hostId of started.unqueued) skip.set(hostId, ScheduleSkipReason.QueueUnavailable);
    outcome.runsQueued = started.queued.length;
    // In the hosts' order (by name), as before.
    for (const host of hosts) {
      const reason = skip.get(host.id);
      if (reason !== undefined) outcome.skipped.push({ host: host.name, reason });
    }
    await this.schedules.recordTick({ scheduleId, firedAt, catchUp, ...outcome });
    this.logger.log(
      `Schedule ${scheduleId} tick due ${firedAt.toISOString()}${catchUp ? ' (catch-up)' : ''}: ${outcome.runsQueued} run(s) queued, ${outcome.skipped.length} skipped; started ${startedAt - firedAt.getTime()} ms after it was due, took ${Date.now() - startedAt} ms (process CPU ${cpuMs(process.cpuUsage(cpuAtStart))} ms)`,
    );
    return outcome;
  }
}

function cpuMs(usage: NodeJS.CpuUsage): number {
  return Math.round((usage.user + usage.system) / 1000);
}

/** A host a tick may start: its name (for the tick's record) and what decides its effective settings. */
type TickTarget = BackupStart['host'] & { name: string };

/** The schedule's own host, or its group's hosts without a schedule of their own (each seen with its group). */
function tickTargets(schedule: ScheduleWithTargets): TickTarget[] {
  if (schedule.host !== null) return [schedule.host];
  const group = schedule.group;
  if (group === null) return [];
  const settings = { paths: group.paths, excludes: group.excludes, pausedAt: group.pausedAt, schedule: null };
  return group.hosts.map((host) => ({ ...host, schedule: null, group: settings }));
}
