import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { ControllerConfig } from '../config/controller-config';
import { AuditRepository } from '../repositories/audit.repository';

/** How often expired audit events are deleted; the first pass runs a minute after boot. */
const PRUNE_INTERVAL_MS = 3_600_000;
const FIRST_PRUNE_AFTER_MS = 60_000;
/** Events deleted per statement; a pass repeats statements until none is left. */
const PRUNE_BATCH = 10_000;
const DAY_MS = 86_400_000;

/**
 * Keeps the audit log to BERTH_AUDIT_RETENTION_DAYS: every hour, events older than that are deleted in batches.
 * Replicas may prune at the same time: deleting what another already deleted is harmless, so no lease is taken.
 */
@Injectable()
export class AuditRetentionService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('AuditRetention');
  private timer: NodeJS.Timeout | null = null;
  private pass: Promise<unknown> | null = null;
  private stopping = false;

  constructor(
    private readonly config: ControllerConfig,
    private readonly audit: AuditRepository,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.auditRetentionDays === 0) return;
    const run = (): void => {
      if (this.pass !== null || this.stopping) return;
      this.pass = this.pruneOnce()
        .catch((error: unknown) => this.logger.warn(`audit retention pass failed: ${error instanceof Error ? error.message : String(error)}`))
        .finally(() => (this.pass = null));
    };
    this.timer = setTimeout(() => {
      run();
      this.timer = setInterval(run, PRUNE_INTERVAL_MS);
      this.timer.unref();
    }, FIRST_PRUNE_AFTER_MS);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopping = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    await this.pass;
  }

  /** Deletes the events recorded more than the retention before `now`; returns how many. Nothing when it is 0. */
  async pruneOnce(now: Date = new Date()): Promise<number> {
    const days = this.config.auditRetentionDays;
    if (days === 0) return 0;
    const cutoff = new Date(now.getTime() - days * DAY_MS);
    let deleted = 0;
    for (;;) {
      const count = await this.audit.deleteBefore(cutoff, PRUNE_BATCH);
      deleted += count;
      if (count < PRUNE_BATCH || this.stopping) break;
    }
    if (deleted > 0) this.logger.log(`deleted ${deleted} audit event(s) recorded before ${cutoff.toISOString()} (retention ${days} days)`);
    return deleted;
  }
}
