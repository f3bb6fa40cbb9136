import { API_ROLES, type ApiErrorBody, type ApiRole, type AuditPage, type CreateTokenResponse, type TokenResponse, type WhoAmIResponse } from '@berth/contracts';
import { createHash } from 'node:crypto';
import request from 'supertest';
import { buildOpenApiDocument } from '../src/openapi/openapi-document';
import { ADMIN_TOKEN, apiAs, type ControllerHarness, startController } from './support/controller-app';

/** Routes only admins may call, by path pattern (OpenAPI form, {param}). */
const ADMIN_ROUTES = [/^\/tokens/, /^\/audit/, /^\/webhooks/, /^\/queues/, /^\/hosts\/\{[^}]+\}\/(credentials|enrollment)/];
/** Routes outside the operator API: no token, or the agent's or receiver's own credential. */
const NON_OPERATOR_ROUTES = [/^\/healthz$/, /^\/agent\//, /^\/internal\//];

interface Route {
  readonly method: string;
  readonly path: string;
  readonly role: ApiRole;
}

function expectedRole(method: string, path: string): ApiRole {
  if (ADMIN_ROUTES.some((pattern) => pattern.test(path))) return 'admin';
  return method === 'get' ? 'viewer' : 'operator';
}

/** Every operator route of the running app, from its own OpenAPI document, with a dummy value per parameter. */
function operatorRoutes(controller: ControllerHarness): Route[] {
  const document = buildOpenApiDocument(controller.app);
  const routes: Route[] = [];
  for (const [path, item] of Object.entries(document.paths) as [string, Partial<Record<string, unknown>>][]) {
    if (NON_OPERATOR_ROUTES.some((pattern) => pattern.test(path))) continue;
    for (const method of ['get', 'post', 'patch', 'put', 'delete'] as const) {
      if (item[method] === undefined) continue;
      routes.push({ method, path: path.replace(/\{[^}]+\}/g, '00000000-0000-4000-8000-000000000000'), role: expectedRole(method, path) });
    }
  }
  return routes;
}

describe('API tokens, roles and the audit log', () => {
  let controller: ControllerHarness;
  const tokens = {} as Record<ApiRole, string>;

  const call = (token: string | null, method: string, path: string): request.Test => {
    const test = request(controller.http)[method as 'get'](path);
    return token === null ? test : test.set('Authorization', `Bearer ${token}`);
  };
  const createToken = async (name: string, role: ApiRole, expiresInDays?: number): Promise<CreateTokenResponse> =>
    (await controller.api.post('/tokens').send({ name, role, ...(expiresInDays !== undefined ? { expiresInDays } : {}) }).expect(201)).body as CreateTokenResponse;
  const audit = async (query: string): Promise<AuditPage> => (await controller.api.get(`/audit?${query}`).expect(200)).body as AuditPage;

  beforeAll(async () => {
    controller = await startController();
    for (const role of API_ROLES) tokens[role] = (await createToken(`${role}-token`, role)).token;
    tokens.admin = ADMIN_TOKEN;
  });

  afterAll(async () => {
    await controller.close();
  });

  it('refuses every operator route without a token, or with an unknown one, with 401 unauthenticated', async () => {
    const routes = operatorRoutes(controller);
    expect(routes.length).toBeGreaterThan(20);
    for (const route of routes) {
      for (const token of [null, 'bt_not-a-token-at-all-0123456789abcdef']) {
        const response = await call(token, route.method, route.path);
        expect({ route: `${route.method} ${route.path}`, status: response.status, code: (response.body as ApiErrorBody).code }).toEqual({ route: `${route.method} ${route.path}`, status: 401, code: 'unauthenticated' });
      }
    }
  });

  it('lets each role through exactly the routes its role covers, and answers 403 forbidden on the others', async () => {
    const rank = (role: ApiRole): number => API_ROLES.indexOf(role);
    for (const route of operatorRoutes(controller)) {
      for (const role of API_ROLES) {
        const response = await call(tokens[role], route.method, route.path);
        const seen = { route: `${route.method} ${route.path}`, role, denied: response.status === 403 && (response.body as ApiErrorBody).code === 'forbidden' };
        expect(response.status).not.toBe(401);
        expect(seen).toEqual({ ...seen, denied: rank(role) < rank(route.role) });
      }
    }
  });

  it('needs no token for /healthz', async () => {
    await request(controller.http).get('/healthz').expect(200);
  });

  it('tells a caller who it is', async () => {
    const me = (await call(tokens.operator, 'get', '/auth/whoami').expect(200)).body as WhoAmIResponse;
    expect(me).toMatchObject({ name: 'operator-token', role: 'operator' });
  });

  it('keeps only a hash of each token and never lists the token itself', async () => {
    const created = await createToken('hash-check', 'viewer');
    expect(created.token).toMatch(/^bt_[A-Za-z0-9_-]{43}$/);
    expect(created.prefix).toBe(created.token.slice(0, 9));
    const rows = await controller.sql('SELECT secret_hash FROM api_tokens WHERE id = $1', [created.id]);
    expect(rows).toEqual([{ secret_hash: createHash('sha256').update(created.token).digest('hex') }]);
    const dump = JSON.stringify(await controller.sql('SELECT * FROM api_tokens'));
    expect(dump).not.toContain(created.token);
    const listed = (await controller.api.get('/tokens').expect(200)).body as TokenResponse[];
    expect(listed.find((token) => token.id === created.id)).toMatchObject({ name: 'hash-check', role: 'viewer', createdBy: 'bootstrap', revokedAt: null });
    expect(JSON.stringify(listed)).not.toContain(created.token);
  });

  it('refuses a revoked token on its very next call, and an expired one', async () => {
    const created = await createToken('short-lived', 'operator');
    await call(created.token, 'get', '/hosts').expect(200);
    await call(created.token, 'get', '/hosts').expect(200);
    const used = ((await controller.api.get('/tokens').expect(200)).body as TokenResponse[]).find((token) => token.id === created.id);
    expect(used?.lastUsedAt).not.toBeNull();
    const revoked = (await controller.api.delete(`/tokens/${created.id}`).expect(200)).body as TokenResponse;
    expect(revoked.revokedAt).not.toBeNull();
    const refused = await call(created.token, 'get', '/hosts').expect(401);
    expect((refused.body as ApiErrorBody).message).toMatch(/revoked/);

    const expiring = await createToken('expiring', 'viewer', 1);
    await call(expiring.token, 'get', '/hosts').expect(200);
    // The clock cannot be moved in a real PostgreSQL, so the expiry is moved instead.
    await controller.sql("UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE id = $1", [expiring.id]);
    expect(((await call(expiring.token, 'get', '/hosts').expect(401)).body as ApiErrorBody).message).toMatch(/expired/);

    const missing = (await controller.api.delete('/tokens/00000000-0000-4000-8000-000000000000').expect(404)).body as ApiErrorBody;
    expect(missing.code).toBe('token_not_found');
  });

  it('answers 400 naming the field for a bad token request', async () => {
    const badRole = (await controller.api.post('/tokens').send({ name: 'x', role: 'root' }).expect(400)).body as ApiErrorBody;
    expect(badRole.details?.join('\n')).toMatch(/role must be one of viewer, operator, admin/);
    const noName = (await controller.api.post('/tokens').send({ role: 'viewer' }).expect(400)).body as ApiErrorBody;
    expect(noName.details?.join('\n')).toMatch(/name/);
    const badExpiry = (await controller.api.post('/tokens').send({ name: 'x', role: 'viewer', expiresInDays: 0 }).expect(400)).body as ApiErrorBody;
    expect(badExpiry.details?.join('\n')).toMatch(/expiresInDays/);
  });

  it('reads with the browser cookie but never changes anything with it', async () => {
    await request(controller.http).get('/hosts').set('Cookie', `berth_token=${tokens.operator}`).expect(200);
    const post = await request(controller.http).post('/hosts').set('Cookie', `berth_token=${tokens.operator}`).send({ name: 'cookie-host', paths: ['/srv'] });
    expect(post.status).toBe(401);
    // A cookie that is not even valid percent-encoding is just an unknown token.
    await request(controller.http).get('/hosts').set('Cookie', 'berth_token=%E0%A4%A').expect(401);
  });

  it('records every state-changing call with who, what, target and outcome, and no reads', async () => {
    const since = encodeURIComponent(new Date().toISOString());
    const operator = apiAs(controller.http, tokens.operator);
    const hostName = controller.hostName('audited');
    await operator.post('/hosts').send({ name: hostName, paths: ['/srv'] }).expect(201);
    await operator.post('/hosts').send({ name: hostName, paths: ['relative'] }).expect(400);
    await operator.get(`/hosts/${hostName}`).expect(200);
    await operator.post(`/hosts/${hostName}/pause`).expect(200);
    await apiAs(controller.http, tokens.viewer).post(`/hosts/${hostName}/unpause`).expect(403);

    const mine = await audit(`actor=operator-token&since=${since}`);
    expect(mine.events.map((event) => [event.action, event.statusCode, event.target])).toEqual([
      ['host.pause', 200, hostName],
      ['host.create', 400, null],
      ['host.create', 201, null],
    ]);
    expect(mine.events[0]).toMatchObject({ method: 'POST', route: '/hosts/:idOrName/pause', path: `/hosts/${hostName}/pause`, role: 'operator' });
    const denied = await audit(`actor=viewer-token&since=${since}`);
    expect(denied.events.map((event) => [event.action, event.statusCode])).toEqual([['host.unpause', 403]]);

    const byTarget = await audit(`target=${hostName}`);
    expect(byTarget.events.map((event) => event.action)).toEqual(['host.unpause', 'host.pause']);
  });

  it('pages the audit log newest first and lets only admins read it', async () => {
    const first = await audit('limit=2');
    expect(first.events).toHaveLength(2);
    expect(first.nextBefore).toBe(first.events[1]?.id);
    const second = await audit(`limit=2&before=${first.nextBefore ?? ''}`);
    expect(Number(second.events[0]?.id)).toBeLessThan(Number(first.events[1]?.id));
    const badBefore = (await controller.api.get('/audit?before=abc').expect(400)).body as ApiErrorBody;
    expect(badBefore.details?.join('\n')).toMatch(/before/);
    await call(tokens.operator, 'get', '/audit').expect(403);
    await call(tokens.viewer, 'get', '/tokens').expect(403);
  });
});

describe('BERTH_ADMIN_TOKEN on a fresh database', () => {
  it('becomes the admin token "bootstrap" once, however many of its first requests arrive together', async () => {
    const controller = await startController();
    try {
      const answers = await Promise.all(Array.from({ length: 8 }, () => controller.api.get('/auth/whoami')));
      expect(answers.map((answer) => answer.status)).toEqual(Array.from({ length: 8 }, () => 200));
      expect(new Set(answers.map((answer) => (answer.body as WhoAmIResponse).tokenId)).size).toBe(1);
      expect(await controller.sql(`SELECT name, role::text FROM api_tokens`)).toEqual([{ name: 'bootstrap', role: 'admin' }]);
    } finally {
      await controller.close();
    }
  });
});
