import { Injectable } from '@nestjs/common';
import { type CreateWebhookResponse, WEBHOOK_TEST_EVENT, type WebhookDeliveryPage, type WebhookDeliveryResponse, type WebhookResponse } from '@berth/contracts';
import { randomBytes } from 'node:crypto';
import { type CreateWebhookDto, DELIVERY_PAGE_DEFAULT, type DeliveryQueryDto, mapDelivery, mapDeliveryPage, mapWebhook, type UpdateWebhookDto } from '../dtos/webhook.dto';
import { DomainError } from '../errors/domain.error';
import { ErrorCode } from '../errors/error-code';
import { type Webhook } from '../generated/prisma/client';
import { type WebhookChanges, WebhookRepository } from '../repositories/webhook.repository';
import { isUuid } from '../utils/uuid.util';
import { WebhookDeliveryService } from './webhook-delivery.service';

/** Generated secrets start with this prefix so a leaked one is recognisable. */
export const WEBHOOK_SECRET_PREFIX = 'whsec_';

/** The admin API of webhooks: register, list, change (enable, disable), remove, their deliveries, a test delivery. */
@Injectable()
export class WebhookService {
  constructor(
    private readonly webhooks: WebhookRepository,
    private readonly deliveries: WebhookDeliveryService,
  ) {}

  /** Registers a webhook; the secret (given or generated) is in this answer only. */
  async create(dto: CreateWebhookDto): Promise<CreateWebhookResponse> {
    const secret = dto.secret ?? WEBHOOK_SECRET_PREFIX + randomBytes(32).toString('base64url');
    const webhook = await this.webhooks.create({ url: dto.url, secret, events: dto.events ?? [] });
    return { webhook: mapWebhook(webhook), secret };
  }

  async list(): Promise<WebhookResponse[]> {
    return (await this.webhooks.list()).map(mapWebhook);
  }

  /** Changes the fields given; the secret cannot change (remove the webhook and add it again). */
  async update(id: string, dto: UpdateWebhookDto): Promise<WebhookResponse> {
    const changes: WebhookChanges = {};
    if (dto.url !== undefined) changes.url = dto.url;
    if (dto.events !== undefined) changes.events = dto.events;
    if (dto.enabled !== undefined) changes.enabled = dto.enabled;
    const webhook = isUuid(id) ? await this.webhooks.update(id, changes) : null;
    if (webhook === null) throw notFound(id);
    return mapWebhook(webhook);
  }

  async remove(id: string): Promise<void> {
    if (!isUuid(id) || !(await this.webhooks.remove(id))) throw notFound(id);
  }

  async listDeliveries(id: string, query: DeliveryQueryDto): Promise<WebhookDeliveryPage> {
    const webhook = await this.findOrThrow(id);
    const limit = query.limit ?? DELIVERY_PAGE_DEFAULT;
    return mapDeliveryPage(await this.webhooks.listDeliveries(webhook.id, limit + 1, query.cursor ?? null), limit);
  }

  /** Sends a `webhook.test` delivery to this webhook only (whatever its events), through the usual queue. */
  async test(id: string): Promise<WebhookDeliveryResponse> {
    const webhook = await this.findOrThrow(id);
    if (!webhook.enabled) throw new DomainError(ErrorCode.WebhookDisabled, `Webhook "${id}" is disabled: enable it first (berth webhook enable ${id})`);
    const deliveryId = await this.webhooks.recordDirect(webhook.id, WEBHOOK_TEST_EVENT, { webhookId: webhook.id });
    const delivery = deliveryId === null ? null : await this.webhooks.findDelivery(deliveryId);
    if (deliveryId === null || delivery === null) throw notFound(id);
    await this.deliveries.enqueue([deliveryId]);
    return mapDelivery(delivery);
  }

  private async findOrThrow(id: string): Promise<Webhook> {
    const webhook = isUuid(id) ? await this.webhooks.findById(id) : null;
    if (webhook === null) throw notFound(id);
    return webhook;
  }
}

function notFound(id: string): DomainError {
  return new DomainError(ErrorCode.WebhookNotFound, `Webhook "${id}" not found`);
}
