import { AGENT_API } from '@berth/contracts';
import { APPLICATION_NAME, STANDING_CONNECTIONS } from '../src/repositories/database.repository';
import { DatabaseWarmupService } from '../src/services/database-warmup.service';
import { completeBackup, enrolledHost, triggerBackup } from './support/agent-client';
import { startController } from './support/controller-app';

jest.setTimeout(30_000);

/** Every row of the tables a backup's statements touch, in a stable order. */
async function tables(sql: (text: string) => Promise<Record<string, unknown>[]>): Promise<Record<string, unknown[]>> {
  const names = ['hosts', 'agent_credentials', 'api_tokens', 'runs', 'run_attempts', 'snapshots', 'file_errors'];
  const rows: Record<string, unknown[]> = {};
  for (const name of names) rows[name] = await sql(`SELECT to_jsonb(t)::text AS row FROM ${name} t ORDER BY 1`);
  return rows;
}

describe('database warm-up at start', () => {
  it("runs every statement of a backup's path without changing a row, and leaves the standing connections open", async () => {
    const controller = await startController();
    try {
      // Rows of every kind the statements read or update: a published backup, a running one, tokens, credentials.
      const done = await enrolledHost(controller, 'warm-done');
      await completeBackup(controller, done);
      const running = await enrolledHost(controller, 'warm-running');
      const run = await triggerBackup(controller, running);
      await controller.api.post(AGENT_API.runStart(run.id)).set(running.auth).expect(200);
      const before = await tables((text) => controller.sql(text));

      const warmup = controller.app.get(DatabaseWarmupService);
      const { unexpected } = await warmup.warm();

      // Only "not found" failures (the updates of a row that does not exist): every statement ran.
      expect(unexpected).toEqual([]);
      expect(await tables((text) => controller.sql(text))).toEqual(before);
      const [open] = await controller.sql(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = '${APPLICATION_NAME}'`);
      expect(open?.['n']).toBeGreaterThanOrEqual(STANDING_CONNECTIONS);
      // The run goes on as if nothing happened.
      await controller.api.post(AGENT_API.runFinish(run.id)).set(running.auth).send({ status: 'failed', error: 'disk full', counters: {} }).expect(200);
    } finally {
      await controller.close();
    }
  });
});
