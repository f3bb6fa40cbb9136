import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { type RunFailedEventData, WebhookEvent, type WebhookEventData } from '@berth/contracts';
import { ControllerConfig } from '../config/controller-config';
import { QueueUnavailableError } from '../repositories/queue.repository';
import { RunRepository } from '../repositories/run.repository';
import { WebhookHttpRepository } from '../repositories/webhook-http.repository';
import { type DeliveryTry, type DeliveryVerdict, WebhookQueueRepository } from '../repositories/webhook-queue.repository';
import { WebhookRepository } from '../repositories/webhook.repository';
import { MetricsService } from './metrics.service';
import { judgeAnswer, webhookBody, webhookHeaders } from './webhook-delivery.util';

/** Deliveries the sweep queues again per pass. */
const SWEEP_LIMIT = 500;

/**
 * Turns events into deliveries and sends them. An event is first written as one pending row per subscribed webhook
 * (PostgreSQL is the record), then each row's id is queued on the delivery queue; a row whose job Redis did not take
 * stays pending with the reason in lastError, and the periodic sweep (RpoWatchService) queues it again. The worker
 * reads the row, signs and POSTs the body, and records every attempt on the row.
 */
@Injectable()
export class WebhookDeliveryService implements OnApplicationBootstrap {
  private readonly logger = new Logger('Webhooks');

  constructor(
    private readonly config: ControllerConfig,
    private readonly webhooks: WebhookRepository,
    private readonly queue: WebhookQueueRepository,
    private readonly http: WebhookHttpRepository,
    private readonly runs: RunRepository,
    private readonly metrics: MetricsService,
  ) {}

  onApplicationBootstrap(): void {
    this.queue.startWorker((attempt) => this.deliver(attempt));
  }

  /**
   * Called once where a run ends failed for good: the agent's final report (a failed attempt it says will not be
   * retried) or the reconciler failing a run whose job BullMQ gave up on or lost. An attempt BullMQ retries does not
   * come here.
   */
  async runFailed(runId: string): Promise<void> {
    const run = await this.runs.findById(runId);
    if (run?.status !== 'failed') return;
    const data: RunFailedEventData = {
      runId: run.id,
      hostId: run.hostId,
      hostName: run.host.name,
      kind: run.kind,
      attempts: run.attempts,
      error: run.error,
      finishedAt: run.finishedAt?.toISOString() ?? null,
    };
    await this.notify(WebhookEvent.RunFailed, data);
  }

  async notify(event: WebhookEvent, data: WebhookEventData): Promise<string[]> {
    const ids = await this.webhooks.recordEvent(event, data);
    await this.enqueue(ids);
    return ids;
  }

  /** Queues deliveries; when Redis does not take them they stay pending for the sweep (the reason noted on them). */
  async enqueue(deliveryIds: readonly string[]): Promise<void> {
    if (deliveryIds.length === 0) return;
    try {
      await this.queue.enqueue(deliveryIds);
    } catch (error) {
      if (!(error instanceof QueueUnavailableError)) throw error;
      this.logger.warn(`${deliveryIds.length} webhook delivery(ies) not queued, left for the sweep: ${error.message}`);
      await this.webhooks.noteUnqueued(deliveryIds, `not queued yet: ${error.message}`);
    }
  }

  /** Queues again the deliveries still pending since before `before` (a no-op for those whose job exists). */
  async sweep(before: Date): Promise<number> {
    const ids = await this.webhooks.listPendingBefore(before, SWEEP_LIMIT);
    await this.enqueue(ids);
    return ids.length;
  }

  /** One attempt of a delivery (the queue's worker calls it). */
  async deliver(attempt: DeliveryTry): Promise<DeliveryVerdict> {
    const delivery = await this.webhooks.findDeliveryToSend(attempt.deliveryId);
    // Gone with its webhook, or settled by an earlier run of the same job: nothing to send.
    if (delivery === null || delivery.status !== 'pending') return { outcome: 'done' };
    if (!delivery.webhook.enabled) {
      // Disabled after the delivery was recorded: it fails unsent (no attempt is counted).
      await this.webhooks.settleUnsent(delivery.id, 'the webhook was disabled before this delivery was sent');
      return { outcome: 'done' };
    }
    const body = webhookBody(delivery);
    const timestamp = Math.floor(Date.now() / 1000);
    const answer = await this.http.post(delivery.webhook.url, webhookHeaders(delivery, delivery.webhook.secret, timestamp, body), body, this.config.webhooks.timeoutMs);
    const judged = judgeAnswer(answer, attempt.final);
    await this.webhooks.recordAttempt(delivery.id, { status: judged.status, statusCode: judged.statusCode, error: judged.error, at: new Date() });
    this.metrics.observeWebhookAttempt(delivery.event, judged.status === 'pending' ? 'retried' : judged.status);
    if (judged.status === 'failed') this.logger.warn(`webhook delivery ${delivery.id} (${delivery.event}) to webhook ${delivery.webhookId} failed after ${attempt.attempt} attempt(s): ${judged.error ?? ''}`);
    return judged.verdict;
  }
}
