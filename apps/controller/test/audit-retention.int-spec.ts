import { type AuditPage } from '@berth/contracts';
import { AuditRetentionService } from '../src/services/audit-retention.service';
import { type ControllerHarness, startController } from './support/controller-app';

const DAY_MS = 86_400_000;

describe('audit retention (BERTH_AUDIT_RETENTION_DAYS)', () => {
  let controller: ControllerHarness;

  beforeAll(async () => {
    controller = await startController({ BERTH_AUDIT_RETENTION_DAYS: '30' });
  });

  afterAll(async () => {
    await controller?.close();
  });

  const insertEvent = (at: Date, action: string): Promise<unknown> =>
    controller.sql(`INSERT INTO audit_events (at, actor, method, route, path, action, status_code) VALUES ($1, 'bootstrap', 'POST', '/hosts', '/hosts', $2, 201)`, [at, action]);

  it('deletes the events recorded before the retention and keeps the rest, real calls included', async () => {
    const now = new Date();
    for (let i = 0; i < 3; i++) await insertEvent(new Date(now.getTime() - (31 + i) * DAY_MS), `old.${i}`);
    await insertEvent(new Date(now.getTime() - 29 * DAY_MS), 'recent.29-days');
    // A real state-changing call, audited now.
    await controller.api.post('/hosts').send({ name: controller.hostName('retained'), paths: ['/srv'] }).expect(201);

    expect(await controller.app.get(AuditRetentionService).pruneOnce(now)).toBe(3);

    const page = (await controller.api.get('/audit?limit=100').expect(200)).body as AuditPage;
    const actions = page.events.map((event) => event.action);
    expect(actions).toContain('recent.29-days');
    expect(actions).toContain('host.create');
    expect(actions.filter((action) => action.startsWith('old.'))).toEqual([]);
    // A second pass finds nothing more to delete.
    expect(await controller.app.get(AuditRetentionService).pruneOnce(now)).toBe(0);
  });
});
