import { type ApiErrorBody, type BackupJobData, type CreateHostResponse, type GroupResponse, type HostResponse, type RunResponse } from '@berth/contracts';
import { freePort } from '@berth/local-stack';
import { type ControllerHarness, startApp, startController } from './support/controller-app';

// Each suite clones a database and boots the whole app; Jest's default 5 s is tight on a shared 2-core machine.
jest.setTimeout(30_000);

describe('host groups and pausing', () => {
  let controller: ControllerHarness;

  beforeAll(async () => {
    controller = await startController();
  });
  afterAll(async () => {
    await controller.close();
  });

  async function createGroup(body: Record<string, unknown>): Promise<GroupResponse> {
    return (await controller.api.post('/groups').send(body).expect(201)).body as GroupResponse;
  }
  async function createHost(body: Record<string, unknown>): Promise<HostResponse> {
    return ((await controller.api.post('/hosts').send(body).expect(201)).body as CreateHostResponse).host;
  }

  it('creates, lists, gets (by id or name) and updates a group', async () => {
    const name = controller.hostName('web');
    const group = await createGroup({ name, paths: ['/srv/www/'], excludes: ['*.tmp'], schedule: { cron: '0 2 * * *', timeZone: 'Europe/Berlin', window: '01:00-05:00', spreadSeconds: 600 } });
    expect(group).toMatchObject({ name, paths: ['/srv/www'], excludes: ['*.tmp'], paused: false, hosts: [] });
    expect(group.schedule).toMatchObject({ cron: '0 2 * * *', timeZone: 'Europe/Berlin', window: '01:00-05:00', spreadSeconds: 600, catchUp: 'one', lastTickAt: null });
    expect((await controller.api.get(`/groups/${group.id}`).expect(200)).body).toEqual(group);
    expect((await controller.api.get(`/groups/${name}`).expect(200)).body).toEqual(group);
    expect(((await controller.api.get('/groups').expect(200)).body as GroupResponse[]).map((g) => g.name)).toContain(name);

    const updated = (await controller.api.patch(`/groups/${name}`).send({ excludes: ['*.log'], schedule: null }).expect(200)).body as GroupResponse;
    expect(updated).toMatchObject({ paths: ['/srv/www'], excludes: ['*.log'], schedule: null });
    const duplicate = (await controller.api.post('/groups').send({ name }).expect(409)).body as ApiErrorBody;
    expect(duplicate.code).toBe('already_exists');
  });

  it('gives a host its group paths and schedule unless it has its own, merging excludes; the job carries the effective values', async () => {
    const group = await createGroup({ name: controller.hostName('db'), paths: ['/var/lib/postgresql'], excludes: ['*.tmp'], schedule: { cron: '0 3 * * *', timeZone: 'UTC' } });
    const member = await createHost({ name: controller.hostName('db-1'), group: group.name });
    expect(member).toMatchObject({ group: group.name, paths: [], paused: false, schedule: null });
    expect(member.effective).toMatchObject({ paths: ['/var/lib/postgresql'], excludes: ['*.tmp'], scheduleFrom: 'group', paused: false });
    expect(member.effective.schedule?.id).toBe(group.schedule?.id);

    const run = (await controller.api.post(`/hosts/${member.name}/backups`).expect(202)).body as RunResponse;
    const job = await controller.job(member.id, run.id);
    const expected: BackupJobData = { kind: 'backup', runId: run.id, hostId: member.id, paths: ['/var/lib/postgresql'], excludes: ['*.tmp'] };
    expect(job?.data).toEqual(expected);

    const overridden = (await controller.api
      .patch(`/hosts/${member.id}`)
      .send({ paths: ['/etc'], excludes: ['*.log'], schedule: { cron: '30 1 * * *', timeZone: 'Europe/Berlin', catchUp: 'none' } })
      .expect(200)).body as HostResponse;
    expect(overridden.effective).toMatchObject({ paths: ['/etc'], excludes: ['*.tmp', '*.log'], scheduleFrom: 'host' });
    expect(overridden.schedule).toMatchObject({ cron: '30 1 * * *', timeZone: 'Europe/Berlin', catchUp: 'none', window: null, spreadSeconds: 0 });
    expect(((await controller.api.get(`/groups/${group.name}`).expect(200)).body as GroupResponse).hosts).toEqual([member.name]);

    const left = (await controller.api.patch(`/hosts/${member.id}`).send({ group: null, schedule: null }).expect(200)).body as HostResponse;
    expect(left).toMatchObject({ group: null, schedule: null, effective: { paths: ['/etc'], excludes: ['*.log'], schedule: null, scheduleFrom: null } });
  });

  it('refuses a host without paths outside a group, an unknown group, and a host leaving its group with no paths', async () => {
    const noPaths = (await controller.api.post('/hosts').send({ name: controller.hostName('bare') }).expect(400)).body as ApiErrorBody;
    expect(noPaths.details).toEqual([expect.stringMatching(/^paths must be an array of absolute paths/)]);
    const unknown = (await controller.api.post('/hosts').send({ name: controller.hostName('lost'), group: 'no-such-group' }).expect(404)).body as ApiErrorBody;
    expect(unknown).toMatchObject({ code: 'group_not_found', message: expect.stringContaining('Group "no-such-group" not found') as string });
    const group = await createGroup({ name: controller.hostName('empty'), paths: ['/srv'] });
    const member = await createHost({ name: controller.hostName('member'), group: group.name });
    const leaving = (await controller.api.patch(`/hosts/${member.name}`).send({ group: null }).expect(400)).body as ApiErrorBody;
    expect(leaving.code).toBe('validation_failed');
    expect(leaving.details).toEqual(['paths must contain 1 to 64 paths for a host without a group']);
  });

  it.each([
    ['a cron with 4 fields', { cron: '0 2 * *', timeZone: 'UTC' }, /^schedule\.cron must have 5 fields .*got 4$/],
    ['a bad cron field', { cron: '0 25 * * *', timeZone: 'UTC' }, /^schedule\.cron is not a valid cron expression/],
    ['an unknown time zone', { cron: '0 2 * * *', timeZone: 'Mars/Olympus' }, /^schedule\.timeZone must be an IANA time zone/],
    ['a bad window', { cron: '0 2 * * *', timeZone: 'UTC', window: '1-5' }, /^schedule\.window must be "HH:MM-HH:MM"/],
    ['a negative spread', { cron: '0 2 * * *', timeZone: 'UTC', spreadSeconds: -1 }, /^schedule\.spreadSeconds must be a whole number from 0 to 86400$/],
    ['an unknown catch-up policy', { cron: '0 2 * * *', timeZone: 'UTC', catchUp: 'all' }, /^schedule\.catchUp must be one of one, none$/],
    ['an unknown field', { cron: '0 2 * * *', timeZone: 'UTC', every: 5 }, /^property schedule\.every should not exist$/],
  ])('answers 400 naming the field for %s', async (_case, schedule, detail) => {
    const error = (await controller.api.post('/groups').send({ name: controller.hostName('bad'), schedule }).expect(400)).body as ApiErrorBody;
    expect(error.code).toBe('validation_failed');
    expect(error.details).toEqual([expect.stringMatching(detail)]);
  });

  it('pauses and unpauses hosts and groups; a paused host refuses manual backups unless forced', async () => {
    const group = await createGroup({ name: controller.hostName('paused'), paths: ['/srv'] });
    const member = await createHost({ name: controller.hostName('p-1'), group: group.name });
    const paused = (await controller.api.post(`/groups/${group.name}/pause`).expect(200)).body as GroupResponse;
    expect(paused.paused).toBe(true);
    const host = (await controller.api.get(`/hosts/${member.name}`).expect(200)).body as HostResponse;
    expect(host).toMatchObject({ paused: false, effective: { paused: true } });

    const refused = (await controller.api.post(`/hosts/${member.name}/backups`).expect(409)).body as ApiErrorBody;
    expect(refused).toMatchObject({ code: 'host_paused', message: expect.stringContaining('(its group is)') as string });
    const forced = (await controller.api.post(`/hosts/${member.name}/backups?force=true`).expect(202)).body as RunResponse;
    expect(forced.status).toBe('queued');

    expect(((await controller.api.post(`/groups/${group.id}/unpause`).expect(200)).body as GroupResponse).paused).toBe(false);
    const own = (await controller.api.post(`/hosts/${member.id}/pause`).expect(200)).body as HostResponse;
    expect(own).toMatchObject({ paused: true, effective: { paused: true } });
    expect(((await controller.api.post(`/hosts/${member.id}/backups`).expect(409)).body as ApiErrorBody).code).toBe('host_paused');
    expect(((await controller.api.post(`/hosts/${member.id}/unpause`).expect(200)).body as HostResponse).effective.paused).toBe(false);
    expect(((await controller.api.post('/groups/no-such-group/pause').expect(404)).body as ApiErrorBody).code).toBe('group_not_found');
  });

  it('answers 503 when Redis cannot take a schedule, keeping it in the database for the next boot to mirror', async () => {
    const group = await createGroup({ name: controller.hostName('cut') });
    const cut = await startApp({ ...controller.config, redisUrl: `redis://127.0.0.1:${await freePort()}` });
    try {
      const error = (await cut.api.patch(`/groups/${group.name}`).send({ schedule: { cron: '0 2 * * *', timeZone: 'UTC' } }).expect(503)).body as ApiErrorBody;
      expect(error).toMatchObject({ code: 'queue_unavailable', message: expect.stringContaining('The schedule was saved but Redis did not take it') as string });
    } finally {
      await cut.app.close();
    }
    expect(((await controller.api.get(`/groups/${group.name}`).expect(200)).body as GroupResponse).schedule).toMatchObject({ cron: '0 2 * * *' });
  });
});
