import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiAcceptedResponse, ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { type CreateWebhookResponse, type WebhookDeliveryPage, type WebhookDeliveryResponse, type WebhookResponse } from '@berth/contracts';
import { CreateWebhookDto, CreateWebhookResponseDto, DeliveryQueryDto, UpdateWebhookDto, WebhookDeliveryPageDto, WebhookDeliveryResponseDto, WebhookResponseDto } from '../dtos/webhook.dto';
import { RequireRole } from '../middleware/auth.decorators';
import { WebhookService } from '../services/webhook.service';

/** Webhooks: admin only (their URLs and deliveries say where the fleet's events go). */
@ApiTags('webhooks')
@RequireRole('admin')
@Controller('webhooks')
export class WebhookController {
  constructor(private readonly webhooks: WebhookService) {}

  @Post()
  @ApiCreatedResponse({ type: CreateWebhookResponseDto })
  create(@Body() dto: CreateWebhookDto): Promise<CreateWebhookResponse> {
    return this.webhooks.create(dto);
  }

  @Get()
  @ApiOkResponse({ type: [WebhookResponseDto] })
  list(): Promise<WebhookResponse[]> {
    return this.webhooks.list();
  }

  /** Changes its URL, events or whether it is enabled; the fields not given stay. */
  @Patch(':id')
  @ApiOkResponse({ type: WebhookResponseDto })
  update(@Param('id') id: string, @Body() dto: UpdateWebhookDto): Promise<WebhookResponse> {
    return this.webhooks.update(id, dto);
  }

  @Delete(':id')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiNoContentResponse({ description: 'removed, with its deliveries' })
  remove(@Param('id') id: string): Promise<void> {
    return this.webhooks.remove(id);
  }

  /** Newest first; `nextCursor` pages back. */
  @Get(':id/deliveries')
  @ApiOkResponse({ type: WebhookDeliveryPageDto })
  deliveries(@Param('id') id: string, @Query() query: DeliveryQueryDto): Promise<WebhookDeliveryPage> {
    return this.webhooks.listDeliveries(id, query);
  }

  /** Queues a `webhook.test` delivery to this webhook. */
  @Post(':id/test')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiAcceptedResponse({ type: WebhookDeliveryResponseDto })
  test(@Param('id') id: string): Promise<WebhookDeliveryResponse> {
    return this.webhooks.test(id);
  }
}
