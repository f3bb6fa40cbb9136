import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { type HostRpoEventData, WebhookEvent } from '@berth/contracts';
import { ControllerConfig } from '../config/controller-config';
import { type RpoHostRow, WebhookRepository } from '../repositories/webhook.repository';
import { WebhookDeliveryService } from './webhook-delivery.service';

const HOUR_MS = 3_600_000;
/** A pending delivery this old whose job may have been lost is queued again by the sweep. */
export const SWEEP_AFTER_MS = 60_000;
/** Repeated failures of a pass (PostgreSQL or Redis away) are logged at most this often. */
const ERROR_LOG_INTERVAL_MS = 60_000;

export interface RpoCheckOutcome {
  breached: string[];
  recovered: string[];
}

/**
 * Watches the recovery point objective for webhooks: every BERTH_RPO_CHECK_INTERVAL_MS, hosts that breach it and
 * were not notified get one host.rpo_breached (hosts.rpo_breach_notified_at is set in the same statement that
 * selects them, so replicas checking at once never notify twice), and notified hosts that have a snapshot within the
 * objective again are cleared and get host.rpo_recovered. Each pass also queues again deliveries left pending.
 */
@Injectable()
export class RpoWatchService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('RpoWatch');
  private timer: NodeJS.Timeout | null = null;
  private pass: Promise<void> | null = null;
  private lastErrorLoggedAt = 0;

  constructor(
    private readonly config: ControllerConfig,
    private readonly webhooks: WebhookRepository,
    private readonly deliveries: WebhookDeliveryService,
  ) {}

  onApplicationBootstrap(): void {
    const intervalMs = this.config.rpoCheckIntervalMs;
    if (intervalMs === 0) return;
    this.timer = setInterval(() => this.tick(), intervalMs);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.pass;
  }

  /** One check as of `now` (tests give the clock); the names of the hosts notified each way. */
  async checkOnce(now: Date = new Date()): Promise<RpoCheckOutcome> {
    const { rpoHours } = this.config;
    const cutoff = new Date(now.getTime() - rpoHours * HOUR_MS);
    const dataOf = (host: RpoHostRow): HostRpoEventData => ({ hostId: host.hostId, hostName: host.hostName, rpoHours, lastSnapshotAt: host.lastSnapshotAt?.toISOString() ?? null });
    const recovered = await this.webhooks.claimRecoveries(cutoff, WebhookEvent.HostRpoRecovered, dataOf);
    const breached = await this.webhooks.claimBreaches(cutoff, now, WebhookEvent.HostRpoBreached, dataOf);
    for (const host of breached.hosts) this.logger.warn(`host ${host.hostName} breaches its recovery point objective (${rpoHours} h): notified`);
    for (const host of recovered.hosts) this.logger.log(`host ${host.hostName} is within its recovery point objective again`);
    await this.deliveries.enqueue([...recovered.deliveryIds, ...breached.deliveryIds]);
    await this.deliveries.sweep(new Date(now.getTime() - SWEEP_AFTER_MS));
    return { breached: breached.hosts.map((host) => host.hostName), recovered: recovered.hosts.map((host) => host.hostName) };
  }

  private tick(): void {
    if (this.pass !== null) return;
    this.pass = this.checkOnce()
      .then(() => undefined)
      .catch((error: unknown) => this.logFailure(error))
      .finally(() => (this.pass = null));
  }

  private logFailure(error: unknown): void {
    const now = Date.now();
    if (now - this.lastErrorLoggedAt < ERROR_LOG_INTERVAL_MS) return;
    this.lastErrorLoggedAt = now;
    this.logger.error(`objective check failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}
