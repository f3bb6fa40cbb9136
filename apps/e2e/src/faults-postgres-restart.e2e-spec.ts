import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type HealthResponse } from '@berth/contracts';
import { generateSampleTree, HarnessApiError, type SampleTreeSummary } from '@berth/harness';
import { type PrivatePostgres, startPrivatePostgres } from '@berth/local-stack';
import { type FleetSuite, startFleetSuite } from './support/fleet-suite';
import { largestDirectoryBytes, waitForProgress } from './support/run-progress';
import { accountForOutage, restoreAndCompare } from './support/verify-snapshot';

const MiB = 1024 * 1024;
const OUTAGE_MS = 4000;

// PostgreSQL (the controller's state) crashes in the middle of a backup and comes back on the same port after
// recovering from its WAL. The fleet runs on a PostgreSQL server of this test's own: the one other tests share is
// never touched.
async function health(suite: FleetSuite): Promise<HealthResponse> {
  const response = await fetch(`${suite.fleet.api.baseUrl}/healthz`);
  return (await response.json()) as HealthResponse;
}

describe('fault: PostgreSQL crashed and restarted mid-run', () => {
  let postgresDir: string;
  let postgres: PrivatePostgres;
  let suite: FleetSuite;
  let source: string;
  let tree: SampleTreeSummary;
  let hostId: string;

  beforeAll(async () => {
    postgresDir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-e2e-postgres-'));
    postgres = await startPrivatePostgres({ dir: postgresDir, database: 'berth' });
    suite = await startFleetSuite('postgres-restart', {
      databaseUrl: postgres.url,
      receiverEnv: {
        BERTH_RECEIVER_WRITE_BYTES_PER_SEC: String(2 * MiB),
        BERTH_RECEIVER_WRITE_OPS_PER_SEC: '300',
        BERTH_RECEIVER_CREDIT_BYTES: String(8 * MiB),
        // The receiver asks the controller about live credentials this often: several times during the outage.
        BERTH_RECEIVER_CREDENTIAL_CHECK_MS: '500',
      },
    });
    source = path.join(suite.work, 'source');
    tree = await generateSampleTree(source, { seed: 43, smallFiles: 800, largeFiles: 2, largeFileBytes: 4 * MiB, duplicateLargeFile: false, hardLinkGroups: 0 });
    ({
      host: { id: hostId },
    } = await suite.fleet.addHostWithAgent({ name: 'postgres-restart', paths: [source] }));
  }, 180_000);

  afterAll(async () => {
    try {
      await suite?.stop();
    } finally {
      await postgres?.stop('SIGINT');
      if (postgresDir !== undefined) await fs.rm(postgresDir, { recursive: true, force: true });
    }
  });

  it('completes the run after PostgreSQL recovers, without starting over, and the snapshot matches the source', async () => {
    const queued = await suite.fleet.api.startBackup(hostId);
    const atCrash = await waitForProgress(suite.fleet.api, queued.id, (run) => run.counters.bytesSent >= tree.bytes * 0.25, 'a quarter of the bytes sent');
    await postgres.stop('SIGQUIT'); // immediate shutdown: no checkpoint, the next start replays the WAL
    await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS / 2));
    // The outage is real to the controller: its health check finds PostgreSQL down, and the API says so.
    const duringOutage = await health(suite);
    const refused = await suite.fleet.api.getRun(queued.id).then(
      () => null,
      (error: unknown) => error,
    );
    await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS / 2));
    const restartedAt = Date.now();
    await postgres.start();
    expect(duringOutage.checks.postgres).toBe('down');
    expect(refused).toBeInstanceOf(HarnessApiError);
    expect({ status: (refused as HarnessApiError).status, code: (JSON.parse((refused as HarnessApiError).body) as { code: string }).code }).toEqual({
      status: 503,
      code: 'database_unavailable',
    });

    const run = await suite.fleet.api.waitForRun(queued.id, { timeoutMs: 150_000 });
    const largestDir = await largestDirectoryBytes(source);
    const { history, resent } = accountForOutage('postgres restart', run, tree.bytes, largestDir, { sentAtStart: atCrash.counters.bytesSent, ms: OUTAGE_MS });

    expect({ status: run.status, error: run.error, history }).toEqual({ status: 'succeeded', error: null, history });
    // The crash fell inside the run: it was running before and finished after PostgreSQL came back.
    expect(atCrash.status).toBe('running');
    expect(Date.parse(run.finishedAt ?? '')).toBeGreaterThan(restartedAt);
    // The transfer does not need PostgreSQL, the agent tries its reports again, and the run's job lock lives in Redis:
    // the outage costs no new attempt, and nothing is sent twice.
    expect(run.attemptHistory).toHaveLength(1);
    expect(resent).toBe(0);
    // The agent went on sending through the outage: its reports failed and were tried again.
    const agentLog = await fs.readFile(path.join(suite.fleet.logDir, 'agent-postgres-restart.log'), 'utf8');
    expect(agentLog).toMatch(/progress report failed \(will keep trying\).*answered 503/);
    const result = await restoreAndCompare(suite, run, source, path.join(suite.work, 'restore'));
    expect(result.differences).toBe('');
    expect(result.files).toBe(tree.files);
  }, 300_000);
});
