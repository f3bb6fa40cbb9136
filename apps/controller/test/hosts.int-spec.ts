import { type ApiErrorBody, type CreateHostResponse, type HostResponse } from '@berth/contracts';
import { type ControllerHarness, startController } from './support/controller-app';

// Each suite clones a database and boots the whole app; Jest's default 5 s is tight on a shared 2-core machine.
jest.setTimeout(30_000);

describe('hosts API', () => {
  let controller: ControllerHarness;

  beforeAll(async () => {
    controller = await startController();
  });
  afterAll(async () => {
    await controller.close();
  });

  it('creates a host with normalized paths and a one-time enrollment secret', async () => {
    const name = controller.hostName('web');
    const response = await controller.api.post('/hosts').send({ name, paths: ['/srv//www/', '/etc'], excludes: ['*.tmp'] }).expect(201);
    const body = response.body as CreateHostResponse;
    expect(body.host).toMatchObject({ name, paths: ['/srv/www', '/etc'], excludes: ['*.tmp'], status: 'pending', enrolled: false, lastSeenAt: null });
    expect(body.enrollmentSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const [row] = await controller.sql('SELECT enrollment_secret_hash FROM hosts WHERE id = $1', [body.host.id]);
    expect(row?.['enrollment_secret_hash']).toMatch(/^[0-9a-f]{64}$/);
    expect(row?.['enrollment_secret_hash']).not.toContain(body.enrollmentSecret);
  });

  it('lists hosts and gets one by id or by name', async () => {
    const name = controller.hostName('db');
    const created = (await controller.api.post('/hosts').send({ name, paths: ['/var/lib/postgresql'] }).expect(201)).body as CreateHostResponse;
    const list = (await controller.api.get('/hosts').expect(200)).body as HostResponse[];
    expect(list.map((host) => host.name)).toContain(name);
    const byId = (await controller.api.get(`/hosts/${created.host.id}`).expect(200)).body as HostResponse;
    const byName = (await controller.api.get(`/hosts/${name}`).expect(200)).body as HostResponse;
    expect(byId).toEqual(created.host);
    expect(byName).toEqual(created.host);
  });

  it('refuses a duplicate name with 409', async () => {
    const name = controller.hostName('dup');
    await controller.api.post('/hosts').send({ name, paths: ['/a'] }).expect(201);
    const body = (await controller.api.post('/hosts').send({ name, paths: ['/b'] }).expect(409)).body as ApiErrorBody;
    expect(body).toEqual({ statusCode: 409, code: 'already_exists', message: `Host "${name}" already exists` });
  });

  it.each([
    ['a missing name', { paths: ['/a'] }, /^name must be 1 to 63 letters/],
    ['a relative path', { name: 'h', paths: ['/a', 'b/c'] }, /^paths\.1 must be an absolute path/],
    ['a path with NUL', { name: 'h', paths: ['/a\u0000b'] }, /^paths\.0 must not contain NUL characters$/],
    ['no paths', { name: 'h', paths: [] }, /^paths must contain 1 to 64 paths$/],
    ['an unknown field', { name: 'h', paths: ['/a'], schedule: 'daily' }, /^property schedule should not exist$/],
    ['a UUID as name', { name: '6efdf12f-8d62-495e-8223-d59e4db91f1b', paths: ['/a'] }, /^name must not be a UUID/],
  ])('answers 400 naming the field for %s', async (_case, body, detail) => {
    const error = (await controller.api.post('/hosts').send(body).expect(400)).body as ApiErrorBody;
    expect(error.code).toBe('validation_failed');
    expect(error.statusCode).toBe(400);
    expect(error.details).toEqual([expect.stringMatching(detail)]);
    expect(error.message).toContain(error.details?.[0]);
  });

  it('answers 400 for a body that is not JSON', async () => {
    const error = (await controller.api.post('/hosts').set('content-type', 'application/json').send('{"name":').expect(400)).body as ApiErrorBody;
    expect(error.code).toBe('bad_request');
  });

  it('answers 404 for unknown hosts, by id, by name, and for unknown routes', async () => {
    const byId = (await controller.api.get('/hosts/00000000-0000-4000-8000-000000000000').expect(404)).body as ApiErrorBody;
    expect(byId).toEqual({ statusCode: 404, code: 'host_not_found', message: 'Host "00000000-0000-4000-8000-000000000000" not found' });
    expect(((await controller.api.get('/hosts/no-such-host').expect(404)).body as ApiErrorBody).code).toBe('host_not_found');
    expect(((await controller.api.get('/nowhere').expect(404)).body as ApiErrorBody).code).toBe('not_found');
  });
});
