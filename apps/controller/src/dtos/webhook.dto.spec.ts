import 'reflect-metadata';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { formatValidationErrors } from '../errors/validation-errors';
import { CreateWebhookDto, mapDeliveryPage } from './webhook.dto';
import { webhookUrlProblem } from './validation';

function check(body: object): string[] {
  return formatValidationErrors(validateSync(plainToInstance(CreateWebhookDto, body), { whitelist: true, forbidNonWhitelisted: true }));
}

describe('CreateWebhookDto', () => {
  it('accepts http and https URLs, with or without events and secret', () => {
    expect(check({ url: 'https://hooks.example/berth?token=x' })).toEqual([]);
    expect(check({ url: 'http://127.0.0.1:9000/in', events: [], secret: 'sixteen-chars-ok' })).toEqual([]);
    expect(check({ url: 'http://localhost/in', events: ['run.failed', 'host.rpo_breached', 'host.rpo_recovered'] })).toEqual([]);
  });

  it('names the field that is wrong', () => {
    expect(check({ url: 'https://hooks.example', events: ['run.failed', 'run.failed'] })).toEqual(["All events's elements must be unique"]);
    expect(check({ url: 'https://hooks.example', secret: 'has a space in it ok' })).toEqual(['secret must be 16 to 256 printable ASCII characters without spaces']);
    expect(check({ url: 'https://hooks.example', enabled: false })).toEqual(['property enabled should not exist']);
  });

  it.each(['ftp://hooks.example/x', 'mailto:ops@example.org', 'hooks.example/x', '', 'https://', `https://h.example/${'x'.repeat(2048)}`, 42])('refuses %p as url', (url) => {
    expect(webhookUrlProblem(url)).toBe('must be an http:// or https:// URL of at most 2048 characters');
  });
});

describe('mapDeliveryPage', () => {
  const row = (id: string) => ({ id, webhookId: 'w', event: 'run.failed', payload: {}, status: 'pending' as const, attempts: 0, lastStatusCode: null, lastError: null, createdAt: new Date(0), deliveredAt: null });

  it('uses the extra row only to tell that an older page follows', () => {
    expect(mapDeliveryPage([row('c'), row('b'), row('a')], 2)).toMatchObject({ deliveries: [{ id: 'c' }, { id: 'b' }], nextCursor: 'b' });
    expect(mapDeliveryPage([row('b'), row('a')], 2)).toMatchObject({ deliveries: [{ id: 'b' }, { id: 'a' }], nextCursor: null });
    expect(mapDeliveryPage([], 2)).toEqual({ deliveries: [], nextCursor: null });
  });
});
