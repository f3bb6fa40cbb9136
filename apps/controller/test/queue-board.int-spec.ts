import { type ApiErrorBody, type ApiRole, type CreateTokenResponse } from '@berth/contracts';
import request from 'supertest';
import { enrolledHost, triggerBackup } from './support/agent-client';
import { ADMIN_TOKEN, type ControllerHarness, startController } from './support/controller-app';

jest.setTimeout(60_000);

interface BoardQueues {
  queues: { name: string; displayName?: string; counts: Record<string, number> }[];
}

/** The berth_token cookie a sign-in answered with, as a Cookie header value. */
function cookieOf(setCookie: string | string[] | undefined): string {
  const line = (Array.isArray(setCookie) ? setCookie : [setCookie ?? '']).find((value) => value.startsWith('berth_token='));
  if (line === undefined) throw new Error(`no berth_token cookie in ${JSON.stringify(setCookie)}`);
  return line.split(';')[0] ?? '';
}

describe('Bull Board at /queues', () => {
  let controller: ControllerHarness;

  const createToken = async (role: ApiRole): Promise<CreateTokenResponse> =>
    (await controller.api.post('/tokens').send({ name: `board-${role}-${Math.random().toString(36).slice(2, 8)}`, role }).expect(201)).body as CreateTokenResponse;

  beforeAll(async () => {
    controller = await startController();
  });
  afterAll(async () => {
    await controller.close();
  });

  it('refuses a request without a valid cookie: 401 JSON for the API, the sign-in form for a browser', async () => {
    const api = await request(controller.http).get('/queues/api/queues').expect(401);
    expect((api.body as ApiErrorBody).code).toBe('unauthenticated');

    const page = await request(controller.http).get('/queues/').set('Accept', 'text/html').expect(401);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.text).toContain('<form method="post" action="/queues/sign-in"');
    expect(page.text).toContain('name="token"');

    // A bearer header is not a browser session: the board takes its cookie only.
    await request(controller.http).get('/queues/api/queues').set('Authorization', `Bearer ${ADMIN_TOKEN}`).expect(401);
    await request(controller.http).get('/queues/api/queues').set('Cookie', 'berth_token=bt_not-a-token-at-all').expect(401);
  });

  it('signs an admin in with an HttpOnly, SameSite=Strict cookie and lists the schedule queue and host queues', async () => {
    const wrong = await request(controller.http).post('/queues/sign-in').type('form').set('Accept', 'text/html').send({ token: 'bt_wrong-token' }).expect(401);
    expect(wrong.text).toContain('unknown, revoked or expired');
    expect(wrong.headers['set-cookie']).toBeUndefined();
    await request(controller.http).post('/queues/sign-in').type('form').send({}).expect(401);

    const signedIn = await request(controller.http).post('/queues/sign-in').type('form').send({ token: ADMIN_TOKEN }).expect(303);
    expect(signedIn.headers.location).toBe('/queues/');
    const setCookie = (signedIn.headers['set-cookie'] as unknown as string[])[0] ?? '';
    expect(setCookie).toMatch(/^berth_token=[^;]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+$/);
    const cookie = cookieOf(signedIn.headers['set-cookie']);

    // A JSON sign-in works the same way (scripts, tests).
    const json = await request(controller.http).post('/queues/sign-in').send({ token: ADMIN_TOKEN }).expect(303);
    expect(cookieOf(json.headers['set-cookie'])).toBe(cookie);

    const agent = await enrolledHost(controller, 'board');
    const run = await triggerBackup(controller, agent);

    const page = await request(controller.http).get('/queues/').set('Cookie', cookie).expect(200);
    expect(page.text).toContain('<title>Berth queues</title>');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");

    const listed = (await request(controller.http).get('/queues/api/queues').set('Cookie', cookie).expect(200)).body as BoardQueues;
    const names = listed.queues.map((queue) => queue.displayName ?? queue.name);
    expect(names).toContain('schedules');
    const hostQueue = listed.queues.find((queue) => queue.displayName === `host ${agent.hostName}`);
    expect(hostQueue?.name).toBe(`host.${agent.hostId}`);
    const job = (await request(controller.http).get(`/queues/api/queues/${encodeURIComponent(`host.${agent.hostId}`)}/${run.id}`).set('Cookie', cookie).expect(200)).body as {
      job: { id: string; name: string };
    };
    expect(job.job).toMatchObject({ id: run.id, name: 'backup' });
  });

  it('answers 403 to viewer and operator tokens, at sign-in and with a cookie, and 401 once an admin token is revoked', async () => {
    for (const role of ['viewer', 'operator'] as const) {
      const { token } = await createToken(role);
      const page = await request(controller.http).post('/queues/sign-in').type('form').set('Accept', 'text/html').send({ token }).expect(403);
      expect(page.text).toContain('not an admin token');
      expect(page.headers['set-cookie']).toBeUndefined();
      const api = await request(controller.http).get('/queues/api/queues').set('Cookie', `berth_token=${token}`).expect(403);
      expect(api.body as ApiErrorBody).toMatchObject({ statusCode: 403, code: 'forbidden' });
    }

    const admin = await createToken('admin');
    const cookie = cookieOf((await request(controller.http).post('/queues/sign-in').send({ token: admin.token }).expect(303)).headers['set-cookie']);
    await request(controller.http).get('/queues/api/queues').set('Cookie', cookie).expect(200);
    await controller.api.delete(`/tokens/${admin.id}`).expect(200);
    const revoked = await request(controller.http).get('/queues/api/queues').set('Cookie', cookie).expect(401);
    expect((revoked.body as ApiErrorBody).code).toBe('unauthenticated');
  });

  it('refuses a state-changing call from another origin even with the cookie', async () => {
    const cookie = cookieOf((await request(controller.http).post('/queues/sign-in').send({ token: ADMIN_TOKEN }).expect(303)).headers['set-cookie']);
    const refused = await request(controller.http).put('/queues/api/queues/pause').set('Cookie', cookie).set('Origin', 'http://elsewhere.example').expect(403);
    expect((refused.body as ApiErrorBody).message).toBe('Cross-origin request refused');
  });

  it('signs out by clearing the cookie', async () => {
    const out = await request(controller.http).post('/queues/sign-out').expect(303);
    expect(out.headers['set-cookie']).toEqual(['berth_token=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0']);
  });
});
