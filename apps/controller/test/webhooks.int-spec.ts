import {
  AGENT_API,
  type ApiErrorBody,
  type CreateTokenResponse,
  type CreateWebhookRequest,
  type CreateWebhookResponse,
  type RunFinishRequest,
  type RunResponse,
  WEBHOOK_HEADERS,
  type WebhookBody,
  type WebhookDeliveryPage,
  type WebhookDeliveryResponse,
  type WebhookResponse,
} from '@berth/contracts';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { RpoWatchService } from '../src/services/rpo-watch.service';
import { RunReconcilerService } from '../src/services/run-reconciler.service';
import { enrolledHost, triggerBackup } from './support/agent-client';
import { apiAs, type ControllerHarness, startController } from './support/controller-app';
import { seedBackup, seedFailedBackup } from './support/report-fleet';
import { type ReceivedHook, WebhookReceiver } from './support/webhook-receiver';

jest.setTimeout(60_000);

const CHECK_INTERVAL_MS = 1_000;

/** What a receiver does to authenticate a delivery: recompute the signature over the raw body, compare in constant time. */
function verifySignature(hook: ReceivedHook, secret: string): boolean {
  const timestamp = hook.headers[WEBHOOK_HEADERS.timestamp];
  const signature = hook.headers[WEBHOOK_HEADERS.signature];
  if (typeof timestamp !== 'string' || typeof signature !== 'string') return false;
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(`${timestamp}.${hook.body}`).digest('hex')}`);
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// The controller in-process on real PostgreSQL and Redis, its delivery worker posting to a real HTTP server on
// 127.0.0.1; retries back off from 100 ms and the objective is checked every second (and explicitly).
describe('webhooks', () => {
  let controller: ControllerHarness;
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    receiver = await WebhookReceiver.start();
    controller = await startController({ BERTH_RPO_HOURS: '24', BERTH_RPO_CHECK_INTERVAL_MS: String(CHECK_INTERVAL_MS), BERTH_WEBHOOK_BACKOFF_MS: '100', BERTH_WEBHOOK_ATTEMPTS: '4', BERTH_WEBHOOK_TIMEOUT_MS: '2000' });
  });
  afterAll(async () => {
    await controller?.close();
    await receiver?.close();
  });

  const addWebhook = async (path: string, request: Omit<CreateWebhookRequest, 'url'> = {}): Promise<CreateWebhookResponse> =>
    (await controller.api.post('/webhooks').send({ url: `${receiver.baseUrl}${path}`, ...request }).expect(201)).body as CreateWebhookResponse;
  const deliveries = async (webhookId: string, query = ''): Promise<WebhookDeliveryPage> => (await controller.api.get(`/webhooks/${webhookId}/deliveries${query}`).expect(200)).body as WebhookDeliveryPage;
  /** Polls a webhook's deliveries until every one has settled (delivered or failed). */
  const settled = async (webhookId: string): Promise<WebhookDeliveryResponse[]> => {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const page = await deliveries(webhookId);
      if (page.deliveries.length > 0 && page.deliveries.every((delivery) => delivery.status !== 'pending')) return page.deliveries;
      if (Date.now() > deadline) throw new Error(`deliveries of ${webhookId} still pending: ${JSON.stringify(page.deliveries)}`);
      await sleep(50);
    }
  };

  it('delivers run.failed once, when the run fails for good, signed with the secret', async () => {
    const secret = 'a-shared-secret-of-the-receiver';
    const { webhook } = await addWebhook('/failed', { secret, events: ['run.failed'] });
    await addWebhook('/rpo-only', { events: ['host.rpo_breached'] });
    const agent = await enrolledHost(controller, 'failing');
    const run = await triggerBackup(controller, agent);
    // A first attempt fails and the agent says BullMQ will retry it: no event.
    await controller.api.post(AGENT_API.runStart(run.id)).set(agent.auth).expect(200);
    const retried: RunFinishRequest = { status: 'failed', counters: {}, error: 'receiver_unavailable: connection refused', willRetry: true };
    expect(((await controller.api.post(AGENT_API.runFinish(run.id)).set(agent.auth).send(retried).expect(200)).body as RunResponse).status).toBe('queued');
    // The last attempt fails too.
    await controller.api.post(AGENT_API.runStart(run.id)).set(agent.auth).expect(200);
    const last: RunFinishRequest = { status: 'failed', counters: {}, error: 'paths_missing: /srv does not exist' };
    await controller.api.post(AGENT_API.runFinish(run.id)).set(agent.auth).send(last).expect(200);
    // The agent repeats its report (it did not see the answer): still one event.
    await controller.api.post(AGENT_API.runFinish(run.id)).set(agent.auth).send(last).expect(200);

    const [hook] = await receiver.waitFor('/failed', 1);
    if (hook === undefined) throw new Error('no delivery');
    expect(hook.headers['content-type']).toBe('application/json');
    expect(hook.headers[WEBHOOK_HEADERS.event]).toBe('run.failed');
    expect(Math.abs(Number(hook.headers[WEBHOOK_HEADERS.timestamp]) - Date.now() / 1000)).toBeLessThan(30);
    expect(verifySignature(hook, secret)).toBe(true);
    expect(verifySignature(hook, 'another-secret-entirely')).toBe(false);
    expect(verifySignature({ ...hook, body: hook.body.replace('paths_missing', 'paths_mislaid') }, secret)).toBe(false);
    const body = JSON.parse(hook.body) as WebhookBody;
    expect(body).toEqual({
      id: hook.headers[WEBHOOK_HEADERS.delivery],
      event: 'run.failed',
      createdAt: expect.any(String) as string,
      data: { runId: run.id, hostId: agent.hostId, hostName: agent.hostName, kind: 'backup', attempts: 2, error: 'paths_missing: /srv does not exist', finishedAt: expect.any(String) as string },
    });

    const [delivery] = await settled(webhook.id);
    expect(delivery).toMatchObject({ id: body.id, event: 'run.failed', status: 'delivered', attempts: 1, lastStatusCode: 200, lastError: null });
    expect(delivery?.deliveredAt).not.toBeNull();
    await sleep(300);
    expect(receiver.at('/failed')).toHaveLength(1);
    expect(receiver.at('/rpo-only')).toHaveLength(0);
  });

  it('announces a run the reconciler fails (its job is gone)', async () => {
    const { webhook } = await addWebhook('/reconciled', { events: ['run.failed'] });
    const agent = await enrolledHost(controller, 'lostjob');
    const run = await triggerBackup(controller, agent);
    await controller.api.post(AGENT_API.runStart(run.id)).set(agent.auth).expect(200);
    await (await controller.job(agent.hostId, run.id))?.remove();

    const changes = (await controller.app.get(RunReconcilerService).reconcileOnce()).filter((change) => change.runId === run.id);
    expect(changes.map((change) => change.status)).toEqual(['failed']);
    const [hook] = await receiver.waitFor('/reconciled', 1);
    expect((JSON.parse(hook?.body ?? '{}') as WebhookBody).data).toMatchObject({ runId: run.id, error: expect.stringContaining('job lost') as string });
    expect((await settled(webhook.id)).map((delivery) => delivery.status)).toEqual(['delivered']);
  });

  it('retries after 500s with backoff, recording every attempt, under one delivery id', async () => {
    const { webhook } = await addWebhook('/flaky');
    receiver.script('/flaky', [500, 500, 200]);
    const queued = (await controller.api.post(`/webhooks/${webhook.id}/test`).expect(202)).body as WebhookDeliveryResponse;
    expect(queued).toMatchObject({ event: 'webhook.test', status: 'pending', attempts: 0 });

    const hooks = await receiver.waitFor('/flaky', 3);
    expect(new Set(hooks.map((hook) => hook.headers[WEBHOOK_HEADERS.delivery]))).toEqual(new Set([queued.id]));
    expect(new Set(hooks.map((hook) => hook.body)).size).toBe(1);
    const [delivery] = await settled(webhook.id);
    expect(delivery).toMatchObject({ id: queued.id, status: 'delivered', attempts: 3, lastStatusCode: 200, lastError: null });
  });

  it('gives up at once on a 4xx, retries 429 until the last attempt', async () => {
    const gone = (await addWebhook('/gone')).webhook;
    receiver.script('/gone', [410]);
    await controller.api.post(`/webhooks/${gone.id}/test`).expect(202);
    const [refused] = await settled(gone.id);
    expect(refused).toMatchObject({ status: 'failed', attempts: 1, lastStatusCode: 410, lastError: 'HTTP 410' });

    const busy = (await addWebhook('/busy')).webhook;
    receiver.script('/busy', [429]);
    await controller.api.post(`/webhooks/${busy.id}/test`).expect(202);
    const [exhausted] = await settled(busy.id);
    expect(exhausted).toMatchObject({ status: 'failed', attempts: 4, lastStatusCode: 429 });
    await sleep(300);
    expect(receiver.at('/gone')).toHaveLength(1);
    expect(receiver.at('/busy')).toHaveLength(4);
  });

  it('disables a webhook (no new deliveries, pending ones fail unsent, tests refused) and enables it again', async () => {
    const { webhook } = await addWebhook('/toggle', { events: ['run.failed'] });
    // A delivery still being retried (500s, backoff from 100 ms) when the webhook is disabled fails unsent.
    receiver.script('/toggle', [500]);
    const pending = (await controller.api.post(`/webhooks/${webhook.id}/test`).expect(202)).body as WebhookDeliveryResponse;
    await receiver.waitFor('/toggle', 1);
    const disabled = (await controller.api.patch(`/webhooks/${webhook.id}`).send({ enabled: false }).expect(200)).body as WebhookResponse;
    expect(disabled).toEqual({ ...webhook, enabled: false });
    const [failed] = await settled(webhook.id);
    expect(failed).toMatchObject({ id: pending.id, status: 'failed', lastStatusCode: 500, lastError: 'the webhook was disabled before this delivery was sent' });
    const sentBefore = receiver.at('/toggle').length;

    // While disabled: a failed run records no delivery for it, and a test is refused.
    const agent = await enrolledHost(controller, 'toggle');
    await seedFailedBackup(controller, agent, 'disk_full');
    const refused = (await controller.api.post(`/webhooks/${webhook.id}/test`).expect(409)).body as ApiErrorBody;
    expect(refused).toMatchObject({ code: 'webhook_disabled', message: `Webhook "${webhook.id}" is disabled: enable it first (berth webhook enable ${webhook.id})` });
    expect((await deliveries(webhook.id)).deliveries.map((delivery) => delivery.id)).toEqual([pending.id]);
    expect(((await controller.api.get('/webhooks').expect(200)).body as WebhookResponse[]).find((listed) => listed.id === webhook.id)?.enabled).toBe(false);

    // Enabled again (and its URL changed): the next failure is delivered there.
    receiver.script('/toggled', [200]);
    const enabled = (await controller.api.patch(`/webhooks/${webhook.id}`).send({ enabled: true, url: `${receiver.baseUrl}/toggled` }).expect(200)).body as WebhookResponse;
    expect(enabled).toEqual({ ...webhook, url: `${receiver.baseUrl}/toggled`, enabled: true });
    await seedFailedBackup(controller, agent, 'disk_full');
    const [hook] = await receiver.waitFor('/toggled', 1);
    expect(hook?.headers[WEBHOOK_HEADERS.event]).toBe('run.failed');
    expect(receiver.at('/toggle')).toHaveLength(sentBefore);
  });

  it('notifies an objective breach exactly once, and the recovery after a new backup', async () => {
    const { webhook } = await addWebhook('/rpo', { events: ['host.rpo_breached', 'host.rpo_recovered'] });
    const rpo = controller.app.get(RpoWatchService);
    const fresh = await enrolledHost(controller, 'rpofresh');
    await seedBackup(controller, fresh, { publishedHoursAgo: 1, files: 1, bytes: 1, bytesSent: 1, bytesStored: 1, durationSeconds: 1 });
    // Registered just now, never backed up: it has one objective period before it counts as breaching.
    await controller.api.post('/hosts').send({ name: controller.hostName('rponew'), paths: ['/srv'] }).expect(201);
    const stale = await enrolledHost(controller, 'rpostale');
    await seedBackup(controller, stale, { publishedHoursAgo: 30, files: 1, bytes: 1, bytesSent: 1, bytesStored: 1, durationSeconds: 1 });

    // The periodic check and two explicit ones (as replicas would) race for the claim.
    const outcomes = await Promise.all([rpo.checkOnce(), rpo.checkOnce()]);
    const [hook] = await receiver.waitFor('/rpo', 1);
    await sleep(2.5 * CHECK_INTERVAL_MS);
    expect(receiver.at('/rpo')).toHaveLength(1);
    expect(outcomes.flatMap((outcome) => outcome.breached).filter((name) => name === stale.hostName).length).toBeLessThanOrEqual(1);
    expect(hook?.headers[WEBHOOK_HEADERS.event]).toBe('host.rpo_breached');
    expect((JSON.parse(hook?.body ?? '{}') as WebhookBody).data).toEqual({ hostId: stale.hostId, hostName: stale.hostName, rpoHours: 24, lastSnapshotAt: expect.any(String) as string });
    const [row] = await controller.sql('SELECT rpo_breach_notified_at FROM hosts WHERE id = $1', [stale.hostId]);
    expect(row?.['rpo_breach_notified_at']).toBeInstanceOf(Date);
    expect(await controller.sql('SELECT name FROM hosts WHERE rpo_breach_notified_at IS NOT NULL')).toEqual([{ name: stale.hostName }]);

    // A new backup brings the host back within the objective: cleared and announced once.
    await seedBackup(controller, stale, { publishedHoursAgo: 0, files: 1, bytes: 1, bytesSent: 1, bytesStored: 1, durationSeconds: 1 });
    const [, recovered] = await receiver.waitFor('/rpo', 2);
    expect(recovered?.headers[WEBHOOK_HEADERS.event]).toBe('host.rpo_recovered');
    expect(await controller.sql('SELECT name FROM hosts WHERE rpo_breach_notified_at IS NOT NULL')).toEqual([]);
    await sleep(2.5 * CHECK_INTERVAL_MS);
    expect(receiver.at('/rpo').map((received) => received.headers[WEBHOOK_HEADERS.event])).toEqual(['host.rpo_breached', 'host.rpo_recovered']);
    expect((await settled(webhook.id)).map((delivery) => [delivery.event, delivery.status])).toEqual([
      ['host.rpo_recovered', 'delivered'],
      ['host.rpo_breached', 'delivered'],
    ]);
  });

  it('registers with a generated secret shown once, lists without it, pages deliveries, removes', async () => {
    const created = await addWebhook('/crud');
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(created.webhook).toEqual({ id: expect.any(String) as string, url: `${receiver.baseUrl}/crud`, events: [], enabled: true, createdAt: expect.any(String) as string });
    const listed = (await controller.api.get('/webhooks').expect(200)).body as WebhookResponse[];
    expect(listed).toContainEqual(created.webhook);
    expect(JSON.stringify(listed)).not.toContain(created.secret);

    const ids: string[] = [];
    for (let i = 0; i < 3; i += 1) ids.push(((await controller.api.post(`/webhooks/${created.webhook.id}/test`).expect(202)).body as WebhookDeliveryResponse).id);
    const first = await deliveries(created.webhook.id, '?limit=2');
    expect(first.deliveries.map((delivery) => delivery.id)).toEqual([ids[2], ids[1]]);
    expect(first.nextCursor).toBe(ids[1]);
    const second = await deliveries(created.webhook.id, `?limit=2&cursor=${first.nextCursor ?? ''}`);
    expect(second.deliveries.map((delivery) => delivery.id)).toEqual([ids[0]]);
    expect(second.nextCursor).toBeNull();

    await controller.api.delete(`/webhooks/${created.webhook.id}`).expect(204);
    expect(((await controller.api.get('/webhooks').expect(200)).body as WebhookResponse[]).map((webhook) => webhook.id)).not.toContain(created.webhook.id);
    expect(((await controller.api.get(`/webhooks/${created.webhook.id}/deliveries`).expect(404)).body as ApiErrorBody).code).toBe('webhook_not_found');
    expect(((await controller.api.delete(`/webhooks/${created.webhook.id}`).expect(404)).body as ApiErrorBody).code).toBe('webhook_not_found');
    await controller.api.delete('/webhooks/not-a-uuid').expect(404);
  });

  it('refuses a bad url, events or secret, naming the field', async () => {
    const refused = async (body: object): Promise<string[]> => ((await controller.api.post('/webhooks').send(body).expect(400)).body as ApiErrorBody).details ?? [];
    expect(await refused({ url: 'ftp://hooks.example/x' })).toEqual(['url must be an http:// or https:// URL of at most 2048 characters']);
    expect(await refused({ url: 'not a url' })).toEqual(['url must be an http:// or https:// URL of at most 2048 characters']);
    expect(await refused({})).toEqual(['url must be an http:// or https:// URL of at most 2048 characters']);
    expect(await refused({ url: 'https://hooks.example/x', events: ['run.exploded'] })).toEqual(['each value in events must be one of the following values: run.failed, host.rpo_breached, host.rpo_recovered']);
    expect(await refused({ url: 'https://hooks.example/x', events: 'run.failed' })).toContain('events must be an array');
    expect(await refused({ url: 'https://hooks.example/x', secret: 'short' })).toEqual(['secret must be 16 to 256 printable ASCII characters without spaces']);
    expect(((await controller.api.get(`/webhooks/00000000-0000-4000-8000-000000000000/deliveries?limit=0`).expect(400)).body as ApiErrorBody).details).toEqual(['limit must not be less than 1']);
    const { webhook } = await addWebhook('/patched');
    const refusedPatch = async (body: object): Promise<string[]> => ((await controller.api.patch(`/webhooks/${webhook.id}`).send(body).expect(400)).body as ApiErrorBody).details ?? [];
    expect(await refusedPatch({ enabled: 'yes' })).toEqual(['enabled must be a boolean value']);
    expect(await refusedPatch({ url: 'ftp://hooks.example/x' })).toEqual(['url must be an http:// or https:// URL of at most 2048 characters']);
    expect(await refusedPatch({ events: ['run.exploded'] })).toEqual(['each value in events must be one of the following values: run.failed, host.rpo_breached, host.rpo_recovered']);
    expect(await refusedPatch({ secret: 'a-new-secret-0123456789' })).toEqual(['property secret should not exist']);
    // Nothing of the refused changes was applied.
    expect(((await controller.api.get('/webhooks').expect(200)).body as WebhookResponse[]).find((listed) => listed.id === webhook.id)).toEqual(webhook);
    expect(((await controller.api.patch('/webhooks/00000000-0000-4000-8000-000000000000').send({ enabled: false }).expect(404)).body as ApiErrorBody).code).toBe('webhook_not_found');
    await controller.api.patch('/webhooks/not-a-uuid').send({ enabled: false }).expect(404);
  });

  it('is for admins only: an operator token gets 403 on every webhook route', async () => {
    const { webhook } = await addWebhook('/admin-only');
    const operator = (await controller.api.post('/tokens').send({ name: 'webhook-operator', role: 'operator' }).expect(201)).body as CreateTokenResponse;
    const api = apiAs(controller.http, operator.token);
    const forbidden = async (response: Promise<{ status: number; body: unknown }>): Promise<void> => {
      const answered = await response;
      expect({ status: answered.status, code: (answered.body as ApiErrorBody).code }).toEqual({ status: 403, code: 'forbidden' });
    };
    await forbidden(api.post('/webhooks').send({ url: `${receiver.baseUrl}/sneaky` }));
    await forbidden(api.get('/webhooks'));
    await forbidden(api.get(`/webhooks/${webhook.id}/deliveries`));
    await forbidden(api.post(`/webhooks/${webhook.id}/test`));
    await forbidden(api.patch(`/webhooks/${webhook.id}`).send({ enabled: false }));
    await forbidden(api.delete(`/webhooks/${webhook.id}`));
    expect(((await controller.api.get('/webhooks').expect(200)).body as WebhookResponse[]).map((listed) => listed.url)).not.toContain(`${receiver.baseUrl}/sneaky`);
    expect(receiver.at('/admin-only')).toHaveLength(0);
  });

  it('counts deliveries by event and status in /metrics', async () => {
    const agent = await enrolledHost(controller, 'metrics');
    const { webhook } = await addWebhook('/metrics', { events: ['run.failed'] });
    await seedFailedBackup(controller, agent, 'disk_full');
    await settled(webhook.id);
    const text = (await controller.api.get('/metrics').expect(200)).text;
    expect(text).toMatch(/^berth_webhook_deliveries\{event="run\.failed",status="delivered"\} [1-9]\d*$/m);
    expect(text).toMatch(/^berth_webhook_delivery_attempts_total\{event="webhook\.test",outcome="retried"\} [1-9]\d*$/m);
  });
});
