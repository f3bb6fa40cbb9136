import {
  type CreateWebhookRequest,
  type CreateWebhookResponse,
  type UpdateWebhookRequest,
  WEBHOOK_EVENTS,
  WEBHOOK_TEST_EVENT,
  type WebhookDeliveryEvent,
  type WebhookDeliveryPage,
  type WebhookDeliveryResponse,
  WebhookDeliveryStatus,
  type WebhookEvent,
  type WebhookEventData,
  type WebhookResponse,
} from '@berth/contracts';
import { ApiProperty, ApiPropertyOptional, PartialType, PickType } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayUnique, IsArray, IsBoolean, IsIn, IsInt, IsOptional, Max, Min } from 'class-validator';
import { type Webhook, type WebhookDelivery } from '../generated/prisma/client';
import { IsUuid, IsWebhookSecret, IsWebhookUrl } from './validation';

export const DELIVERY_PAGE_DEFAULT = 50;
export const DELIVERY_PAGE_MAX = 500;

export class CreateWebhookDto implements CreateWebhookRequest {
  @ApiProperty({ description: 'http:// or https:// URL the events are POSTed to', example: 'https://hooks.example/berth' })
  @IsWebhookUrl()
  url!: string;

  @ApiPropertyOptional({ description: 'signing secret, 16 to 256 printable characters without spaces; generated when absent' })
  @IsOptional()
  @IsWebhookSecret()
  secret?: string;

  @ApiPropertyOptional({ enum: WEBHOOK_EVENTS, isArray: true, description: 'events to send; an empty list means every event, and so does leaving it out when creating' })
  @IsOptional()
  @IsArray()
  @ArrayUnique()
  @IsIn(WEBHOOK_EVENTS, { each: true })
  events?: WebhookEvent[];
}

/** The creatable fields but the secret, each optional with the same rules, and whether the webhook is enabled. */
export class UpdateWebhookDto extends PartialType(PickType(CreateWebhookDto, ['url', 'events'] as const)) implements UpdateWebhookRequest {
  @ApiPropertyOptional({ description: 'false: no new deliveries, pending ones fail unsent, tests refused' })
  @IsOptional()
  @IsBoolean()
  enabled?: boolean;
}

export class DeliveryQueryDto {
  @ApiPropertyOptional({ type: Number, minimum: 1, maximum: DELIVERY_PAGE_MAX, default: DELIVERY_PAGE_DEFAULT })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(DELIVERY_PAGE_MAX)
  limit?: number;

  @ApiPropertyOptional({ format: 'uuid', description: 'nextCursor of the previous page' })
  @IsOptional()
  @IsUuid()
  cursor?: string;
}

// Response classes for the OpenAPI document; the mappers build the @berth/contracts types they implement.

export class WebhookResponseDto implements WebhookResponse {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() url!: string;
  @ApiProperty({ enum: WEBHOOK_EVENTS, isArray: true, description: 'empty: every event' }) events!: WebhookEvent[];
  @ApiProperty() enabled!: boolean;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
}

export class CreateWebhookResponseDto implements CreateWebhookResponse {
  @ApiProperty({ type: WebhookResponseDto }) webhook!: WebhookResponseDto;
  @ApiProperty({ description: 'the signing secret; shown once, never returned again' }) secret!: string;
}

export class WebhookDeliveryResponseDto implements WebhookDeliveryResponse {
  @ApiProperty({ format: 'uuid', description: 'sent as x-berth-delivery, the same on every attempt' }) id!: string;
  @ApiProperty({ format: 'uuid' }) webhookId!: string;
  @ApiProperty({ enum: [...WEBHOOK_EVENTS, WEBHOOK_TEST_EVENT] }) event!: WebhookDeliveryEvent;
  @ApiProperty({ enum: Object.values(WebhookDeliveryStatus), enumName: 'WebhookDeliveryStatus' }) status!: WebhookDeliveryStatus;
  @ApiProperty() attempts!: number;
  @ApiProperty({ type: Number, nullable: true }) lastStatusCode!: number | null;
  @ApiProperty({ type: String, nullable: true }) lastError!: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) deliveredAt!: string | null;
  @ApiProperty({ type: 'object', additionalProperties: true, description: "the body's data" }) payload!: WebhookEventData;
}

export class WebhookDeliveryPageDto implements WebhookDeliveryPage {
  @ApiProperty({ type: [WebhookDeliveryResponseDto] }) deliveries!: WebhookDeliveryResponseDto[];
  @ApiProperty({ type: String, format: 'uuid', nullable: true, description: 'pass as ?cursor= for the next (older) page' }) nextCursor!: string | null;
}

export function mapWebhook(webhook: Webhook): WebhookResponse {
  return { id: webhook.id, url: webhook.url, events: webhook.events as WebhookEvent[], enabled: webhook.enabled, createdAt: webhook.createdAt.toISOString() };
}

export function mapDelivery(delivery: WebhookDelivery): WebhookDeliveryResponse {
  return {
    id: delivery.id,
    webhookId: delivery.webhookId,
    event: delivery.event as WebhookDeliveryEvent,
    status: delivery.status,
    attempts: delivery.attempts,
    lastStatusCode: delivery.lastStatusCode,
    lastError: delivery.lastError,
    createdAt: delivery.createdAt.toISOString(),
    deliveredAt: delivery.deliveredAt?.toISOString() ?? null,
    payload: delivery.payload as unknown as WebhookEventData,
  };
}

/** A page of `limit` deliveries read as `limit + 1`: the extra row only says whether another page follows. */
export function mapDeliveryPage(rows: readonly WebhookDelivery[], limit: number): WebhookDeliveryPage {
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return { deliveries: page.map(mapDelivery), nextCursor: rows.length > limit && last !== undefined ? last.id : null };
}
