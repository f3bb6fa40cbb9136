import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { ControllerConfig, offlineAfterMs } from '../config/controller-config';
import { HostRepository } from '../repositories/host.repository';
import { QueueRepository, type RunJobState } from '../repositories/queue.repository';
import { RedisRepository } from '../repositories/redis.repository';
import { type ActiveRunRef, RunRepository } from '../repositories/run.repository';
import { decideSettlement, isOrphanOfVanishedAgent, RECONCILE_REASONS } from './run-reconcile.util';
import { WebhookDeliveryService } from './webhook-delivery.service';

/**
 * Redis key of the lease that lets one controller replica reconcile per period. Replicas of one deployment share
 * its database, so the database name tells deployments apart when they share a Redis.
 */
export function reconcilerLeaseKey(databaseUrl: string): string {
  return `berth:controller:reconciler:${decodeURIComponent(new URL(databaseUrl).pathname.slice(1)) || 'default'}`;
}
/** A queued run is looked at once it has not changed for this long (its job may still be on its way). */
export const QUEUED_GRACE_MS = 60_000;
/** Runs looked at per pass, oldest change first; the rest wait for the next pass. */
const RUNS_PER_PASS = 500;
/** Repeated failures of a pass (Redis or PostgreSQL away) are logged at most this often. */
const ERROR_LOG_INTERVAL_MS = 60_000;

export interface ReconcileChange {
  runId: string;
  status: 'queued' | 'failed' | 'canceled';
  reason: string;
}

/**
 * Keeps run and host states honest when agents go silent: every interval, the replica that takes the lease marks
 * hosts offline whose agent missed its heartbeats, reads the BullMQ job of each running run (and of queued runs
 * idle past the grace period) on the shared connection and applies decideSettlement. The job of a vanished agent
 * (lock expired, host offline) has its attempt failed here, since no worker of that host runs BullMQ's stalled
 * check: BullMQ retries it after the backoff or, past its attempts, fails it, and the run follows. Decisions are
 * conditional on the run being unchanged, so an agent's report, a new attempt or a second replica in between
 * simply wins.
 */
@Injectable()
export class RunReconcilerService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('RunReconciler');
  private readonly owner = randomUUID();
  private readonly leaseKey: string;
  private timer: NodeJS.Timeout | null = null;
  private pass: Promise<void> | null = null;
  private stopping = false;
  private lastErrorLoggedAt = 0;

  constructor(
    private readonly config: ControllerConfig,
    private readonly runs: RunRepository,
    private readonly hosts: HostRepository,
    private readonly queues: QueueRepository,
    private readonly redis: RedisRepository,
    private readonly webhooks: WebhookDeliveryService,
  ) {
    this.leaseKey = reconcilerLeaseKey(config.databaseUrl);
  }

  onApplicationBootstrap(): void {
    const intervalMs = this.config.reconcileIntervalMs;
    if (intervalMs === 0) return;
    this.timer = setInterval(() => this.tick(intervalMs), intervalMs);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopping = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.pass;
  }

  /** One pass over hosts and active runs; `now` is the clock (tests move it past the grace period). */
  async reconcileOnce(now: Date = new Date()): Promise<ReconcileChange[]> {
    const silentFor = offlineAfterMs(this.config.liveness);
    const offline = await this.hosts.markOffline(new Date(now.getTime() - silentFor));
    if (offline.length > 0) this.logger.warn(`agent offline (no heartbeat for ${silentFor} ms): ${offline.join(', ')}`);
    const changes: ReconcileChange[] = [];
    const runs = await this.runs.listActiveForReconcile(new Date(now.getTime() - QUEUED_GRACE_MS), RUNS_PER_PASS);
    for (const run of runs) {
      if (this.stopping) break;
      let job = await this.queues.runJobState(run.hostId, run.id);
      let cause: string | undefined;
      if (run.cancelRequestedAt === null && isOrphanOfVanishedAgent(run, job, now, silentFor)) {
        cause = RECONCILE_REASONS.agentOffline(run.hostLastSeenAt);
        job = await this.failOrphanedAttempt(run, cause);
      }
      const settlement = decideSettlement(run, job, now, cause);
      if (settlement === null || !(await this.runs.settle(run.id, settlement))) continue;
      if (settlement.status === 'canceled') await this.queues.removeRunJob(run.hostId, run.id);
      this.logger.warn(`run ${run.id} ${run.status} -> ${settlement.status}: ${settlement.error}`);
      changes.push({ runId: run.id, status: settlement.status, reason: settlement.error });
      // The settlement applied (conditionally on the run being unchanged), so this replica alone announces it.
      if (settlement.status === 'failed') await this.webhooks.runFailed(run.id);
    }
    return changes;
  }

  /** Fails the vanished agent's attempt in BullMQ; returns where the job is now. */
  private async failOrphanedAttempt(run: ActiveRunRef, reason: string): Promise<RunJobState> {
    const result = await this.queues.failOrphanedJob(run.hostId, run.id, reason, true);
    if (result === 'not-orphaned') return this.queues.runJobState(run.hostId, run.id);
    this.logger.warn(`run ${run.id}: ${reason}; its attempt failed in BullMQ (${result === 'retrying' ? 'retried after the backoff' : 'no attempts left'})`);
    return result === 'retrying' ? { state: 'delayed' } : { state: 'failed', failedReason: reason };
  }

  private tick(intervalMs: number): void {
    if (this.pass !== null || this.stopping) return;
    this.pass = this.leasedPass(intervalMs)
      .catch((error: unknown) => this.logFailure(error))
      .finally(() => (this.pass = null));
  }

  /**
   * The lease lasts 90% of the interval and is never released: the replica whose timer fires first takes each
   * period, so at most one pass starts per period fleet-wide.
   */
  private async leasedPass(intervalMs: number): Promise<void> {
    if (!(await this.redis.tryLease(this.leaseKey, this.owner, Math.floor(intervalMs * 0.9)))) return;
    await this.reconcileOnce();
  }

  private logFailure(error: unknown): void {
    if (this.stopping) return;
    const now = Date.now();
    if (now - this.lastErrorLoggedAt < ERROR_LOG_INTERVAL_MS) return;
    this.lastErrorLoggedAt = now;
    this.logger.error(`reconcile pass failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}
