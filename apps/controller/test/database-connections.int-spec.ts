import { APPLICATION_NAME, DatabaseRepository, STANDING_CONNECTIONS } from '../src/repositories/database.repository';
import { startController } from './support/controller-app';

/** pg's pool closes a connection idle for this long (its default), unless the pool keeps it as a standing one. */
const POOL_IDLE_TIMEOUT_MS = 10_000;

jest.setTimeout(40_000);

describe("the controller's PostgreSQL connections", () => {
  it('keeps its standing connections open through a quiet spell longer than the idle timeout, and closes the others', async () => {
    const controller = await startController();
    try {
      const opened = async (): Promise<{ pid: number; backend_start: Date }[]> =>
        (await controller.sql(`SELECT pid, backend_start FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1 ORDER BY pid`, [
          APPLICATION_NAME,
        ])) as { pid: number; backend_start: Date }[];
      // Queries held open side by side need more connections than the standing ones.
      const database = controller.app.get(DatabaseRepository);
      await Promise.all(Array.from({ length: 4 }, () => database.client.$queryRaw`SELECT 1 FROM pg_sleep(0.3)`));
      expect((await opened()).length).toBeGreaterThan(STANDING_CONNECTIONS);

      await new Promise((resolve) => setTimeout(resolve, POOL_IDLE_TIMEOUT_MS + 2_000));
      const after = await opened();
      expect(after).toHaveLength(STANDING_CONNECTIONS);
      expect(after.every((c) => new Date(c.backend_start).getTime() < Date.now() - POOL_IDLE_TIMEOUT_MS)).toBe(true);
      // The next request is served by them (it may open more for queries it runs side by side).
      await controller.api.get('/runs').expect(200);
      expect((await opened()).map((c) => c.pid)).toEqual(expect.arrayContaining(after.map((c) => c.pid)));
    } finally {
      await controller.close();
    }
  });
});
