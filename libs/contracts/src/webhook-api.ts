/**
 * Webhooks (admin API, /webhooks): Berth POSTs events to operator-given URLs, signed with the webhook's secret.
 * Same conventions as api.ts: ISO-8601 timestamps.
 */

/** Events a webhook may subscribe to. An empty subscription list means every event. */
export const WebhookEvent = {
  /** A run ended failed for good (not an attempt that BullMQ retries). */
  RunFailed: 'run.failed',
  /** A host has no snapshot newer than the recovery point objective (notified once per breach). */
  HostRpoBreached: 'host.rpo_breached',
  /** A host that breached its objective has a snapshot within it again. */
  HostRpoRecovered: 'host.rpo_recovered',
} as const;
export type WebhookEvent = (typeof WebhookEvent)[keyof typeof WebhookEvent];
export const WEBHOOK_EVENTS: readonly WebhookEvent[] = Object.values(WebhookEvent);

/** The event of POST /webhooks/:id/test: sent to that webhook only, whatever it subscribes to. */
export const WEBHOOK_TEST_EVENT = 'webhook.test';
export type WebhookDeliveryEvent = WebhookEvent | typeof WEBHOOK_TEST_EVENT;

/**
 * Headers of every delivery. The signature is `sha256=` and the hex HMAC-SHA256, keyed with the webhook's secret,
 * of `<timestamp>.<raw body>` (timestamp: the x-berth-timestamp header, Unix seconds). A receiver recomputes it
 * over the bytes it received, compares in constant time, and rejects old timestamps (replays); the delivery id
 * is the same on every attempt of one delivery, so it deduplicates retries.
 */
export const WEBHOOK_HEADERS = {
  event: 'x-berth-event',
  delivery: 'x-berth-delivery',
  timestamp: 'x-berth-timestamp',
  signature: 'x-berth-signature',
} as const;

export interface CreateWebhookRequest {
  /** http:// or https:// URL the events are POSTed to. */
  url: string;
  /** Signing secret (16 to 256 printable characters without spaces); generated when absent. */
  secret?: string;
  /** Events to send; absent or empty: every event. */
  events?: WebhookEvent[];
}

/** PATCH /webhooks/:id: the fields given change, the others stay. */
export interface UpdateWebhookRequest {
  url?: string;
  /** Empty: every event. */
  events?: WebhookEvent[];
  /** A disabled webhook gets no new deliveries, its pending ones fail unsent, and a test is refused. */
  enabled?: boolean;
}

export interface WebhookResponse {
  id: string;
  url: string;
  /** Empty: every event. */
  events: WebhookEvent[];
  enabled: boolean;
  createdAt: string;
}

export interface CreateWebhookResponse {
  webhook: WebhookResponse;
  /** The signing secret, given or generated. Shown once: the API never returns it again. */
  secret: string;
}

export const WebhookDeliveryStatus = { Pending: 'pending', Delivered: 'delivered', Failed: 'failed' } as const;
export type WebhookDeliveryStatus = (typeof WebhookDeliveryStatus)[keyof typeof WebhookDeliveryStatus];

export interface WebhookDeliveryResponse {
  /** Sent as x-berth-delivery, the same on every attempt. */
  id: string;
  webhookId: string;
  event: WebhookDeliveryEvent;
  status: WebhookDeliveryStatus;
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: string;
  deliveredAt: string | null;
  /** The body's `data`. */
  payload: WebhookEventData;
}

export interface WebhookDeliveryPage {
  /** Newest first. */
  deliveries: WebhookDeliveryResponse[];
  /** Pass as `?cursor=` for the next (older) page; null on the last page. */
  nextCursor: string | null;
}

/** data of run.failed. */
export interface RunFailedEventData {
  runId: string;
  hostId: string;
  hostName: string;
  kind: 'backup' | 'restore';
  attempts: number;
  error: string | null;
  finishedAt: string | null;
}

/** data of host.rpo_breached and host.rpo_recovered. */
export interface HostRpoEventData {
  hostId: string;
  hostName: string;
  rpoHours: number;
  /** Publication time of the host's newest snapshot; null when it has none. */
  lastSnapshotAt: string | null;
}

export interface WebhookTestEventData {
  webhookId: string;
}

export type WebhookEventData = RunFailedEventData | HostRpoEventData | WebhookTestEventData;

/** The JSON body of every delivery. */
export interface WebhookBody {
  /** The delivery id (as x-berth-delivery). */
  id: string;
  event: WebhookDeliveryEvent;
  /** When the event happened (the delivery was recorded). */
  createdAt: string;
  data: WebhookEventData;
}
