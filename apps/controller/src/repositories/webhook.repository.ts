import { Injectable } from '@nestjs/common';
import { type WebhookDeliveryEvent, type WebhookEvent, type WebhookEventData } from '@berth/contracts';
import { randomUUID } from 'node:crypto';
import { type Prisma, type Webhook, type WebhookDelivery, type WebhookDeliveryStatus } from '../generated/prisma/client';
import { DatabaseRepository } from './database.repository';

export interface NewWebhook {
  url: string;
  secret: string;
  events: WebhookEvent[];
}

export type WebhookChanges = Partial<{ url: string; events: WebhookEvent[]; enabled: boolean }>;

/** A delivery with the webhook it goes to (URL and secret), as the sender needs it. */
export type DeliveryToSend = WebhookDelivery & { webhook: Webhook };

/** What one attempt of a delivery came to. */
export interface DeliveryAttempt {
  status: WebhookDeliveryStatus;
  statusCode: number | null;
  error: string | null;
  at: Date;
}

/** A host whose objective state changed, as the claim statements return it. */
export interface RpoHostRow {
  hostId: string;
  hostName: string;
  lastSnapshotAt: Date | null;
}

type Client = Prisma.TransactionClient;

/** Webhooks, their deliveries, and the hosts' breach notification state (all notification state lives here). */
@Injectable()
export class WebhookRepository {
  constructor(private readonly database: DatabaseRepository) {}

  create(webhook: NewWebhook): Promise<Webhook> {
    return this.database.client.webhook.create({ data: webhook });
  }

  list(): Promise<Webhook[]> {
    return this.database.client.webhook.findMany({ orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
  }

  findById(id: string): Promise<Webhook | null> {
    return this.database.client.webhook.findUnique({ where: { id } });
  }

  /** Changes a webhook; null when there is none. */
  async update(id: string, changes: WebhookChanges): Promise<Webhook | null> {
    const { count } = await this.database.client.webhook.updateMany({ where: { id }, data: changes });
    return count === 0 ? null : this.findById(id);
  }

  /** Deletes a webhook and (cascade) its deliveries; false when there was none. */
  async remove(id: string): Promise<boolean> {
    const { count } = await this.database.client.webhook.deleteMany({ where: { id } });
    return count > 0;
  }

  /** One pending delivery of the event per enabled webhook subscribed to it (no events listed: all); their ids. */
  recordEvent(event: WebhookEvent, data: WebhookEventData, client: Client = this.database.client): Promise<string[]> {
    return this.insertDeliveries(client, { enabled: true, OR: [{ events: { isEmpty: true } }, { events: { has: event } }] }, event, data);
  }

  /** A delivery to one webhook, whatever it subscribes to (the test event). */
  async recordDirect(webhookId: string, event: WebhookDeliveryEvent, data: WebhookEventData): Promise<string | null> {
    const [id] = await this.insertDeliveries(this.database.client, { id: webhookId }, event, data);
    return id ?? null;
  }

  findDelivery(id: string): Promise<WebhookDelivery | null> {
    return this.database.client.webhookDelivery.findUnique({ where: { id } });
  }

  findDeliveryToSend(id: string): Promise<DeliveryToSend | null> {
    return this.database.client.webhookDelivery.findUnique({ where: { id }, include: { webhook: true } });
  }

  /**
   * Records an attempt of a delivery that is still pending (one more attempt, its answer, the new status): false when
   * it is not pending any more (an attempt of a duplicate job already settled it).
   */
  async recordAttempt(id: string, attempt: DeliveryAttempt): Promise<boolean> {
    const { count } = await this.database.client.webhookDelivery.updateMany({
      where: { id, status: 'pending' },
      data: {
        status: attempt.status,
        attempts: { increment: 1 },
        lastStatusCode: attempt.statusCode,
        lastError: attempt.error,
        ...(attempt.status === 'delivered' ? { deliveredAt: attempt.at } : {}),
      },
    });
    return count > 0;
  }

  /** Fails a pending delivery that is not to be sent (its webhook was disabled); no attempt is counted. */
  async settleUnsent(id: string, error: string): Promise<void> {
    await this.database.client.webhookDelivery.updateMany({ where: { id, status: 'pending' }, data: { status: 'failed', lastError: error } });
  }

  /** Notes why pending deliveries have no job yet (Redis did not take it); the sweep queues them later. */
  async noteUnqueued(ids: readonly string[], error: string): Promise<void> {
    await this.database.client.webhookDelivery.updateMany({ where: { id: { in: [...ids] }, status: 'pending' }, data: { lastError: error } });
  }

  /** A webhook's deliveries, newest first, after the cursor delivery (exclusive) when one is given. */
  listDeliveries(webhookId: string, limit: number, cursor: string | null): Promise<WebhookDelivery[]> {
    return this.database.client.webhookDelivery.findMany({
      where: { webhookId },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: limit,
      ...(cursor === null ? {} : { cursor: { id: cursor }, skip: 1 }),
    });
  }

  /** Pending deliveries recorded before `before`, oldest first: candidates whose job may never have been queued. */
  async listPendingBefore(before: Date, limit: number): Promise<string[]> {
    const rows = await this.database.client.webhookDelivery.findMany({ where: { status: 'pending', createdAt: { lt: before } }, orderBy: { createdAt: 'asc' }, take: limit, select: { id: true } });
    return rows.map((row) => row.id);
  }

  async countDeliveriesByStatus(): Promise<{ event: string; status: WebhookDeliveryStatus; deliveries: number }[]> {
    const groups = await this.database.client.webhookDelivery.groupBy({ by: ['event', 'status'], _count: { _all: true } });
    return groups.map((group) => ({ event: group.event, status: group.status, deliveries: group._count._all }));
  }

  /**
   * Claims the hosts that breach the objective and were not notified yet, and records the event for each, in one
   * transaction. A host breaches when its newest snapshot was published before `cutoff`, or when it has none and was
   * registered before `cutoff` (a new host gets one objective period to make its first backup). The UPDATE only
   * touches rows whose rpo_breach_notified_at is still null: of two replicas checking at once, the second waits for
   * the first's row locks, then finds the column set and skips the host, so each breach is notified once.
   */
  claimBreaches(cutoff: Date, now: Date, event: WebhookEvent, dataOf: (host: RpoHostRow) => WebhookEventData): Promise<{ hosts: RpoHostRow[]; deliveryIds: string[] }> {
    return this.database.client.$transaction(async (tx) => {
      const hosts = await tx.$queryRaw<RpoHostRow[]>`
        UPDATE hosts h SET rpo_breach_notified_at = ${now}
        WHERE h.rpo_breach_notified_at IS NULL
          AND NOT EXISTS (SELECT 1 FROM snapshots s WHERE s.host_id = h.id AND s.published_at >= ${cutoff})
          AND (h.created_at < ${cutoff} OR EXISTS (SELECT 1 FROM snapshots s WHERE s.host_id = h.id))
        RETURNING h.id AS "hostId", h.name AS "hostName",
          (SELECT max(s.published_at) FROM snapshots s WHERE s.host_id = h.id) AS "lastSnapshotAt"`;
      return { hosts, deliveryIds: await this.recordFor(tx, hosts, event, dataOf) };
    });
  }

  /** Clears the notification of hosts that have a snapshot published at or after `cutoff` again, recording the event. */
  claimRecoveries(cutoff: Date, event: WebhookEvent, dataOf: (host: RpoHostRow) => WebhookEventData): Promise<{ hosts: RpoHostRow[]; deliveryIds: string[] }> {
    return this.database.client.$transaction(async (tx) => {
      const hosts = await tx.$queryRaw<RpoHostRow[]>`
        UPDATE hosts h SET rpo_breach_notified_at = NULL
        WHERE h.rpo_breach_notified_at IS NOT NULL
          AND EXISTS (SELECT 1 FROM snapshots s WHERE s.host_id = h.id AND s.published_at >= ${cutoff})
        RETURNING h.id AS "hostId", h.name AS "hostName",
          (SELECT max(s.published_at) FROM snapshots s WHERE s.host_id = h.id) AS "lastSnapshotAt"`;
      return { hosts, deliveryIds: await this.recordFor(tx, hosts, event, dataOf) };
    });
  }

  private async recordFor(tx: Client, hosts: readonly RpoHostRow[], event: WebhookEvent, dataOf: (host: RpoHostRow) => WebhookEventData): Promise<string[]> {
    const ids: string[] = [];
    for (const host of hosts) ids.push(...(await this.recordEvent(event, dataOf(host), tx)));
    return ids;
  }

  private async insertDeliveries(client: Client, where: Prisma.WebhookWhereInput, event: WebhookDeliveryEvent, data: WebhookEventData): Promise<string[]> {
    const webhooks = await client.webhook.findMany({ where, select: { id: true } });
    if (webhooks.length === 0) return [];
    // Ids are made here (the column has no database default): one INSERT for every webhook.
    const rows = webhooks.map((webhook) => ({ id: randomUUID(), webhookId: webhook.id, event, payload: data as unknown as Prisma.InputJsonObject }));
    await client.webhookDelivery.createMany({ data: rows });
    return rows.map((row) => row.id);
  }
}
