import { WEBHOOK_EVENTS, type WebhookEvent } from '@berth/contracts';
import { type Command } from 'commander';
import { type CliContext } from '../context';
import { UsageError } from '../errors/cli-error';
import { formatDeliveryPage, formatWebhookCreated, formatWebhookTable } from '../output/webhook-format';
import { collect, type JsonOption, wholeNumber } from './options';

/** GET /webhooks/:id/deliveries accepts 1 to 500 per page. */
const DELIVERY_PAGE_MAX = 500;

interface WebhookAddOptions extends JsonOption {
  event: string[];
  secret?: string;
}

export function webhookEvents(values: readonly string[]): WebhookEvent[] {
  const known: readonly string[] = WEBHOOK_EVENTS;
  for (const value of values) {
    if (!known.includes(value)) throw new UsageError(`--event must be one of ${WEBHOOK_EVENTS.join(', ')}; got "${value}"`);
  }
  return [...new Set(values)] as WebhookEvent[];
}


/** `berth webhook add|list|enable|disable|remove|deliveries|test` (admin tokens only). */
export function registerWebhookCommands(program: Command, ctx: CliContext): void {
  const webhook = program.command('webhook').description('notify URLs of failed runs and recovery point objective breaches (admin)');
  webhook
    .command('add')
    .description('register a URL to POST signed events to; prints its signing secret once')
    .argument('<url>', 'http:// or https:// URL')
    .option('--event <name>', `event to send (repeatable: ${WEBHOOK_EVENTS.join(', ')}); default all`, collect, [])
    .option('--secret <secret>', 'signing secret (16 to 256 characters); generated when not given')
    .option('--json', 'print the API response (includes the secret)')
    .action(async (url: string, options: WebhookAddOptions, command: Command) => {
      const events = webhookEvents(options.event);
      const created = await ctx.api(command).createWebhook({ url, events, ...(options.secret === undefined ? {} : { secret: options.secret }) });
      if (options.json === true) ctx.printJson(created);
      else ctx.print(formatWebhookCreated(created));
    });

  webhook
    .command('list')
    .description('list webhooks')
    .option('--json', 'print the API objects')
    .action(async (options: JsonOption, command: Command) => {
      const webhooks = await ctx.api(command).listWebhooks();
      if (options.json === true) ctx.printJson(webhooks);
      else ctx.print(formatWebhookTable(webhooks));
    });

  for (const enabled of [true, false]) {
    webhook
      .command(enabled ? 'enable' : 'disable')
      .description(enabled ? 'send events to a disabled webhook again' : 'stop sending events to a webhook (its pending deliveries fail unsent); keeps it and its history')
      .argument('<id>', 'webhook id (`berth webhook list`)')
      .option('--json', 'print the API object')
      .action(async (id: string, options: JsonOption, command: Command) => {
        const updated = await ctx.api(command).updateWebhook(id, { enabled });
        if (options.json === true) ctx.printJson(updated);
        else ctx.print(`Webhook ${id} ${enabled ? 'enabled' : 'disabled'}.\n`);
      });
  }

  webhook
    .command('remove')
    .description('remove a webhook and its delivery history')
    .argument('<id>', 'webhook id (`berth webhook list`)')
    .action(async (id: string, _options: unknown, command: Command) => {
      await ctx.api(command).removeWebhook(id);
      ctx.print(`Webhook ${id} removed.\n`);
    });

  webhook
    .command('deliveries')
    .description("a webhook's deliveries, newest first: event, status, attempts, last answer")
    .argument('<id>', 'webhook id')
    .option('--limit <n>', `how many (1 to ${DELIVERY_PAGE_MAX}, default 50)`, wholeNumber(1, DELIVERY_PAGE_MAX))
    .option('--cursor <id>', 'continue after this delivery (the "older" hint of the previous page)')
    .option('--json', 'print the API object')
    .action(async (id: string, options: JsonOption & { limit?: number; cursor?: string }, command: Command) => {
      const page = await ctx.api(command).webhookDeliveries(id, options.limit, options.cursor);
      if (options.json === true) ctx.printJson(page);
      else ctx.print(formatDeliveryPage(page));
    });

  webhook
    .command('test')
    .description('queue a webhook.test delivery to this webhook')
    .argument('<id>', 'webhook id')
    .option('--json', 'print the API object')
    .action(async (id: string, options: JsonOption, command: Command) => {
      const delivery = await ctx.api(command).testWebhook(id);
      if (options.json === true) ctx.printJson(delivery);
      else ctx.print(`Test delivery ${delivery.id} queued; see \`berth webhook deliveries ${id}\`.\n`);
    });
}
