import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import { type CreateWebhookResponse, type WebhookDeliveryPage, type WebhookResponse } from '@berth/contracts';
import { type ControllerHandle } from '@berth/harness';
import { type CliController, startCliController } from './cli-controller';
import { runBerth } from './run-berth';

// The built CLI against the built controller process, which posts to a real HTTP server on 127.0.0.1.
describe('berth webhook', () => {
  let stack: CliController | undefined;
  let controller: ControllerHandle;
  let server: Server;
  let hookUrl: string;
  const received: IncomingHttpHeaders[] = [];

  beforeAll(async () => {
    server = createServer((request, response) => {
      received.push(request.headers);
      request.resume();
      request.on('end', () => response.end());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    hookUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/berth`;
    stack = await startCliController('webhook', { BERTH_RPO_CHECK_INTERVAL_MS: '0' });
    ({ controller } = stack);
  }, 60_000);

  afterAll(async () => {
    await stack?.stop();
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  });

  it('adds a webhook (secret shown once), lists it, sends a test delivery, shows deliveries, removes it', async () => {
    const added = await runBerth(['webhook', 'add', hookUrl, '--event', 'run.failed', '--event', 'host.rpo_breached'], controller);
    expect(added).toMatchObject({ code: 0, stderr: '' });
    const secret = /^secret:\s+(whsec_\S+)$/m.exec(added.stdout)?.[1];
    expect(secret).toBeDefined();
    expect(added.stdout).toMatch(/^events:\s+run\.failed host\.rpo_breached$/m);
    expect(added.stdout).toContain('The secret is shown only once.');

    const json = await runBerth(['webhook', 'add', hookUrl, '--secret', 'given-secret-0123456789', '--json'], controller);
    const created = JSON.parse(json.stdout) as CreateWebhookResponse;
    expect(created).toMatchObject({ secret: 'given-secret-0123456789', webhook: { url: hookUrl, events: [], enabled: true } });

    const list = await runBerth(['webhook', 'list'], controller);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`^${created.webhook.id}\\s+all\\s+yes\\s+.+${hookUrl}$`, 'm'));
    expect(list.stdout).not.toContain(secret);
    const listed = JSON.parse((await runBerth(['webhook', 'list', '--json'], controller)).stdout) as WebhookResponse[];
    expect(listed.map((webhook) => webhook.events)).toEqual([['run.failed', 'host.rpo_breached'], []]);

    const test = await runBerth(['webhook', 'test', created.webhook.id], controller);
    expect(test.code).toBe(0);
    expect(test.stdout).toMatch(/^Test delivery \S+ queued/);
    let page: WebhookDeliveryPage = { deliveries: [], nextCursor: null };
    for (let tries = 0; tries < 100 && page.deliveries[0]?.status !== 'delivered'; tries += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      page = JSON.parse((await runBerth(['webhook', 'deliveries', created.webhook.id, '--json'], controller)).stdout) as WebhookDeliveryPage;
    }
    expect(page.deliveries).toMatchObject([{ event: 'webhook.test', status: 'delivered', attempts: 1, lastStatusCode: 200 }]);
    expect(received.map((headers) => headers['x-berth-event'])).toEqual(['webhook.test']);
    const table = await runBerth(['webhook', 'deliveries', created.webhook.id], controller);
    expect(table.stdout).toMatch(/^\S+\s+webhook\.test\s+delivered\s+1\s+.+HTTP 200$/m);

    const disabled = await runBerth(['webhook', 'disable', created.webhook.id], controller);
    expect(disabled).toMatchObject({ code: 0, stdout: `Webhook ${created.webhook.id} disabled.\n` });
    expect((await runBerth(['webhook', 'list'], controller)).stdout).toMatch(new RegExp(`^${created.webhook.id}\\s+all\\s+no\\s+.+${hookUrl}$`, 'm'));
    const refusedTest = await runBerth(['webhook', 'test', created.webhook.id], controller);
    expect(refusedTest.code).toBe(1);
    expect(refusedTest.stderr).toContain(`is disabled: enable it first (berth webhook enable ${created.webhook.id})`);
    const enabled = JSON.parse((await runBerth(['webhook', 'enable', created.webhook.id, '--json'], controller)).stdout) as WebhookResponse;
    expect(enabled).toEqual({ ...created.webhook, enabled: true });

    const removed = await runBerth(['webhook', 'remove', created.webhook.id], controller);
    expect(removed).toMatchObject({ code: 0, stdout: `Webhook ${created.webhook.id} removed.\n` });
    expect((await runBerth(['webhook', 'list', '--json'], controller)).stdout).not.toContain(created.webhook.id);
  }, 60_000);

  it('refuses a bad URL (from the API), an unknown event and an unknown webhook', async () => {
    const badUrl = await runBerth(['webhook', 'add', 'ftp://hooks.example/x'], controller);
    expect(badUrl.code).toBe(1);
    expect(badUrl.stderr).toContain('url must be an http:// or https:// URL');
    const badEvent = await runBerth(['webhook', 'add', hookUrl, '--event', 'run.exploded'], controller);
    expect(badEvent.code).toBe(2);
    expect(badEvent.stderr).toContain('--event must be one of run.failed, host.rpo_breached, host.rpo_recovered; got "run.exploded"');
    const unknown = await runBerth(['webhook', 'remove', '00000000-0000-4000-8000-000000000000'], controller);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('Webhook "00000000-0000-4000-8000-000000000000" not found');
    const unknownDisable = await runBerth(['webhook', 'disable', '00000000-0000-4000-8000-000000000000'], controller);
    expect(unknownDisable.code).toBe(1);
    expect(unknownDisable.stderr).toContain('Webhook "00000000-0000-4000-8000-000000000000" not found');
  }, 60_000);
});
