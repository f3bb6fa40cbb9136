import { WEBHOOK_HEADERS, type WebhookBody, type WebhookDeliveryEvent, type WebhookEventData } from '@berth/contracts';
import { createHmac } from 'node:crypto';
import { type WebhookDeliveryStatus } from '../generated/prisma/client';
import { type HttpAnswer } from '../repositories/webhook-http.repository';
import { type DeliveryVerdict } from '../repositories/webhook-queue.repository';

/** `sha256=` and the hex HMAC-SHA256 of `<timestamp>.<body>` keyed with the webhook's secret. */
export function signWebhook(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`, 'utf8').digest('hex')}`;
}

/** The JSON body of a delivery: the same bytes on every attempt (only the timestamp and signature change). */
export function webhookBody(delivery: { id: string; event: string; createdAt: Date; payload: unknown }): string {
  const body: WebhookBody = { id: delivery.id, event: delivery.event as WebhookDeliveryEvent, createdAt: delivery.createdAt.toISOString(), data: delivery.payload as WebhookEventData };
  return JSON.stringify(body);
}

export function webhookHeaders(delivery: { id: string; event: string }, secret: string, timestamp: number, body: string): Record<string, string> {
  return {
    'content-type': 'application/json',
    'user-agent': 'berth-webhooks/1',
    [WEBHOOK_HEADERS.event]: delivery.event,
    [WEBHOOK_HEADERS.delivery]: delivery.id,
    [WEBHOOK_HEADERS.timestamp]: String(timestamp),
    [WEBHOOK_HEADERS.signature]: signWebhook(secret, timestamp, body),
  };
}

/** What an attempt's answer does to its delivery row, and to its job. */
export interface AttemptJudgement {
  status: WebhookDeliveryStatus;
  statusCode: number | null;
  error: string | null;
  verdict: DeliveryVerdict;
}

/**
 * 2xx: delivered. A 4xx other than 408 (timeout) and 429 (too many requests) says the request itself is refused:
 * failed at once, no retry. Anything else (other statuses, no answer) is retried until the last attempt, which
 * fails the delivery.
 */
export function judgeAnswer(answer: HttpAnswer, final: boolean): AttemptJudgement {
  if ('error' in answer) return retryOrFail(null, answer.error, final);
  const { statusCode } = answer;
  if (statusCode >= 200 && statusCode < 300) return { status: 'delivered', statusCode, error: null, verdict: { outcome: 'done' } };
  const error = `HTTP ${statusCode}`;
  if (statusCode >= 400 && statusCode < 500 && statusCode !== 408 && statusCode !== 429) {
    return { status: 'failed', statusCode, error, verdict: { outcome: 'give-up', reason: `${error}: refused, not retried` } };
  }
  return retryOrFail(statusCode, error, final);
}

function retryOrFail(statusCode: number | null, error: string, final: boolean): AttemptJudgement {
  return final ? { status: 'failed', statusCode, error, verdict: { outcome: 'give-up', reason: `${error} (last attempt)` } } : { status: 'pending', statusCode, error, verdict: { outcome: 'retry', reason: error } };
}
