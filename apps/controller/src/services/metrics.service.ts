import { Injectable, Logger } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { ControllerConfig } from '../config/controller-config';
import { mapFleetReport } from '../dtos/report.dto';
import { QUEUE_STATES, QueueDepthRepository } from '../repositories/queue-depth.repository';
import { ReportRepository } from '../repositories/report.repository';
import { WebhookRepository } from '../repositories/webhook.repository';
import { toNumber } from '../utils/bigint.util';

/** Run durations span seconds (an unchanged tree) to a day (a first backup of terabytes). */
export const RUN_DURATION_BUCKETS_SECONDS = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 43200, 86400];

/** A finished run, as the duration histogram sees it. */
export interface FinishedRun {
  kind: string;
  status: string;
  startedAt: Date | null;
  finishedAt: Date | null;
}

/**
 * The controller's Prometheus registry (one per application, not prom-client's global one). Everything that
 * describes the fleet is read from PostgreSQL and Redis when scraped, so every replica reports the same values;
 * only the run duration histogram is observed in-process, by the replica that received the finish report.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  private readonly logger = new Logger('Metrics');
  private readonly runDuration: Histogram<'kind' | 'status'>;
  private readonly webhookAttempts: Counter<'event' | 'outcome'>;

  constructor(config: ControllerConfig, reports: ReportRepository, queueDepth: QueueDepthRepository, webhooks: WebhookRepository) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'berth_controller_' });

    this.runDuration = new Histogram({
      name: 'berth_run_duration_seconds',
      help: 'Wall time of finished runs (first start to end), observed by the replica that received the final report',
      labelNames: ['kind', 'status'],
      buckets: RUN_DURATION_BUCKETS_SECONDS,
      registers,
    });

    const byRun = ['kind', 'status'] as const;
    // One grouped query fills the four run gauges and one fleet query (plus the queue counts) the other three:
    // whichever gauge of a group is collected first starts the read, the others of the scrape share it.
    const collectRuns = shared(async () => {
      const groups = await reports.runsByStatus();
      for (const gauge of [runs, files, sent, stored]) gauge.reset();
      for (const group of groups) {
        const labels = { kind: group.kind, status: group.status };
        runs.set(labels, group.runs);
        files.set(labels, toNumber(group.files));
        sent.set(labels, toNumber(group.bytesSent));
        stored.set(labels, toNumber(group.bytesStored));
      }
    });
    const collectFleet = shared(async () => {
      const report = mapFleetReport(await reports.fleet(), config.rpoHours, new Date());
      hosts.set(report.totals.hosts);
      breaching.set(report.totals.breaching);
      const counts = await queueDepth.countJobs(report.hosts.map((host) => host.hostId));
      queueJobs.reset();
      if (counts === null) {
        this.logger.warn('queue depths left out of /metrics: Redis did not answer');
        return;
      }
      for (const state of QUEUE_STATES) queueJobs.set({ state }, counts[state]);
    });

    const runs = new Gauge({ name: 'berth_runs', help: 'Runs in the database by kind and status', labelNames: byRun, registers, collect: collectRuns });
    const files = new Gauge({ name: 'berth_runs_files', help: 'Files done, summed over the runs of each kind and status', labelNames: byRun, registers, collect: collectRuns });
    const sent = new Gauge({ name: 'berth_runs_bytes_sent', help: 'Bytes sent to the receiver, summed over the runs of each kind and status', labelNames: byRun, registers, collect: collectRuns });
    const stored = new Gauge({
      name: 'berth_runs_bytes_stored',
      help: 'Bytes newly stored in the repository, summed over the runs of each kind and status',
      labelNames: byRun,
      registers,
      collect: collectRuns,
    });
    const hosts = new Gauge({ name: 'berth_hosts', help: 'Registered hosts', registers, collect: collectFleet });
    const breaching = new Gauge({
      name: 'berth_hosts_breaching_rpo',
      help: 'Hosts without a snapshot within their recovery point objective (BERTH_RPO_HOURS), including hosts never backed up',
      registers,
      collect: collectFleet,
    });
    const webhookDeliveries = new Gauge({
      name: 'berth_webhook_deliveries',
      help: 'Webhook deliveries in the database by event and status (pending, delivered, failed)',
      labelNames: ['event', 'status'],
      registers,
      collect: async () => {
        const groups = await webhooks.countDeliveriesByStatus();
        webhookDeliveries.reset();
        for (const group of groups) webhookDeliveries.set({ event: group.event, status: group.status }, group.deliveries);
      },
    });
    this.webhookAttempts = new Counter({
      name: 'berth_webhook_delivery_attempts_total',
      help: 'Webhook delivery attempts made by this replica, by event and outcome (delivered, retried, failed)',
      labelNames: ['event', 'outcome'],
      registers,
    });
    const queueJobs = new Gauge({ name: 'berth_queue_jobs', help: 'BullMQ jobs by state, summed over every host queue', labelNames: ['state'], registers, collect: collectFleet });
  }

  /** Called when a run ends for good (not when an attempt fails and BullMQ will retry it). */
  observeRunFinished(run: FinishedRun): void {
    if (run.startedAt === null || run.finishedAt === null) return;
    const seconds = Math.max(0, run.finishedAt.getTime() - run.startedAt.getTime()) / 1000;
    this.runDuration.observe({ kind: run.kind, status: run.status }, seconds);
  }

  observeWebhookAttempt(event: string, outcome: 'delivered' | 'retried' | 'failed'): void {
    this.webhookAttempts.inc({ event, outcome });
  }

  /** The exposition text and its content type. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

/** A read that concurrent callers share while it is in flight (the gauges of one scrape), then starts afresh. */
function shared(read: () => Promise<void>): () => Promise<void> {
  let inFlight: Promise<void> | null = null;
  return () => {
    inFlight ??= read().finally(() => {
      inFlight = null;
    });
    return inFlight;
  };
}
