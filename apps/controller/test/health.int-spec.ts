import { type HealthResponse } from '@berth/contracts';
import { freePort } from '@berth/local-stack';
import request from 'supertest';
import { type ControllerHarness, startApp, startController } from './support/controller-app';

// Each suite clones a database and boots the whole app; Jest's default 5 s is tight on a shared 2-core machine.
jest.setTimeout(30_000);

describe('GET /healthz', () => {
  it('answers 200 when PostgreSQL and Redis answer', async () => {
    const controller = await startController();
    try {
      const body = (await request(controller.http).get('/healthz').expect(200)).body as HealthResponse;
      expect(body).toEqual({ status: 'ok', checks: { postgres: 'up', redis: 'up' } });
    } finally {
      await controller.close();
    }
  });

  it('answers 503 with the same body when Redis does not answer, and refuses to queue runs', async () => {
    // A port nothing listens on: a real, unreachable Redis.
    const controller: ControllerHarness = await startController({ REDIS_URL: `redis://127.0.0.1:${await freePort()}` });
    try {
      const body = (await request(controller.http).get('/healthz').expect(503)).body as HealthResponse;
      expect(body).toEqual({ status: 'degraded', checks: { postgres: 'up', redis: 'down' } });

      const name = controller.hostName('noredis');
      await controller.api.post('/hosts').send({ name, paths: ['/srv'] }).expect(201);
      const refused = await controller.api.post(`/hosts/${name}/backups`).expect(503);
      expect(refused.body).toMatchObject({ code: 'queue_unavailable' });
      // The run that could not be queued does not block the next trigger.
      const [run] = await controller.sql("SELECT status, error FROM runs WHERE kind = 'backup'");
      expect(run).toEqual({ status: 'failed', error: 'Could not be queued: Redis is not reachable' });
    } finally {
      await controller.close();
    }
  });

  it('answers 503 database_unavailable, not an internal error, while PostgreSQL cannot be reached', async () => {
    const controller = await startController();
    const url = new URL(controller.config.databaseUrl);
    url.port = String(await freePort()); // nothing listens there: connections are refused
    const unreachable = await startApp({ ...controller.config, databaseUrl: url.toString() });
    try {
      const health = (await request(unreachable.http).get('/healthz').expect(503)).body as HealthResponse;
      expect(health.checks.postgres).toBe('down');
      // An operator's call (its token cannot even be checked) and an agent's report both say what is wrong.
      const operator = await request(unreachable.http).get('/runs').set('Authorization', 'Bearer some-token').expect(503);
      expect(operator.body).toEqual({ statusCode: 503, code: 'database_unavailable', message: "The controller's database is unavailable; try again shortly" });
      const agent = await request(unreachable.http).post('/agent/v1/heartbeat').set('Authorization', 'Bearer some-credential').send({}).expect(503);
      expect(agent.body).toMatchObject({ code: 'database_unavailable' });
    } finally {
      await unreachable.app.close();
      await controller.close();
    }
  });

  it('reports PostgreSQL down when its database does not exist', async () => {
    const controller = await startController();
    const url = new URL(controller.config.databaseUrl);
    url.pathname = '/berth_no_such_database';
    const unreachable = await startApp({ ...controller.config, databaseUrl: url.toString() });
    try {
      const body = (await request(unreachable.http).get('/healthz').expect(503)).body as HealthResponse;
      expect(body).toEqual({ status: 'degraded', checks: { postgres: 'down', redis: 'up' } });
    } finally {
      await unreachable.app.close();
      await controller.close();
    }
  });
});
