import { type CreateWebhookResponse, type WebhookDeliveryPage, type WebhookDeliveryResponse, type WebhookResponse } from '@berth/contracts';
import { type Column, renderFields, renderTable } from './table';
import { formatTimestamp } from './units';

function events(webhook: WebhookResponse): string {
  return webhook.events.length === 0 ? 'all' : webhook.events.join(' ');
}

const WEBHOOK_COLUMNS: readonly Column<WebhookResponse>[] = [
  { header: 'ID', value: (w) => w.id },
  { header: 'EVENTS', value: events },
  { header: 'ENABLED', value: (w) => (w.enabled ? 'yes' : 'no') },
  { header: 'CREATED', value: (w) => formatTimestamp(w.createdAt) },
  { header: 'URL', value: (w) => w.url },
];

export function formatWebhookTable(webhooks: readonly WebhookResponse[]): string {
  if (webhooks.length === 0) return 'No webhooks yet. Add one with `berth webhook add URL`.\n';
  return renderTable(webhooks, WEBHOOK_COLUMNS);
}

export function formatWebhookCreated(created: CreateWebhookResponse): string {
  const { webhook } = created;
  return (
    `Webhook ${webhook.id} added.\n` +
    renderFields([
      ['url', webhook.url],
      ['events', events(webhook)],
      ['secret', created.secret],
    ]) +
    '\nThe secret is shown only once. Each delivery carries x-berth-signature: sha256=HMAC-SHA256(secret, "<x-berth-timestamp>.<body>") in hex.\n'
  );
}

const DELIVERY_COLUMNS: readonly Column<WebhookDeliveryResponse>[] = [
  { header: 'ID', value: (d) => d.id },
  { header: 'EVENT', value: (d) => d.event },
  { header: 'STATUS', value: (d) => d.status },
  { header: 'ATTEMPTS', value: (d) => String(d.attempts), align: 'right' },
  { header: 'CREATED', value: (d) => formatTimestamp(d.createdAt) },
  { header: 'LAST ANSWER', value: (d) => d.lastError ?? (d.lastStatusCode === null ? '-' : `HTTP ${d.lastStatusCode}`) },
];

export function formatDeliveryPage(page: WebhookDeliveryPage): string {
  if (page.deliveries.length === 0) return 'No deliveries.\n';
  const more = page.nextCursor === null ? '' : `(older: --cursor ${page.nextCursor})\n`;
  return renderTable(page.deliveries, DELIVERY_COLUMNS) + more;
}
