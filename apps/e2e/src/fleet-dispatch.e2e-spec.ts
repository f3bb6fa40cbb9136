import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type ControllerHandle, type DispatchMeasurement, HarnessApi, measureScheduleDispatch, startController } from '@berth/harness';
import { createTestDatabase, type TestDatabase } from '@berth/local-stack';

const FLEET = 1_000;
/** The issue's target: one tick reaches every agent of the fleet within a second of its due time. */
const P99_TARGET_MS = 1_000;
/**
 * Ticks of 1,000 (fresh) hosts tried until one meets the target. The tick's own work is a few hundred ms of CPU,
 * but on a 2-core machine shared with other suites the wall clock can stretch several times; a tick that misses
 * is printed, and a controller that needs more than a second every time still fails.
 */
const ATTEMPTS = 4;

// Scale: a controller process (real, as deployed) and a group of 1,000 hosts whose agents are simulated (libs/harness
// SimulatedAgents: 16 blocking connections in this process, waiting on the hosts' queue markers as BullMQ workers
// do). One schedule tick must start every host, each job must reach its agent within 1 s of the tick's due time
// (p99; spread 0), and the controller's Redis connections, counted by its client names in CLIENT LIST, must be
// the same few for 10 hosts and for 1,000, with no blocking one per host. `npm run bench:fleet` prints the same
// figures.
describe('one schedule tick over a fleet of 1,000 hosts', () => {
  let work: string;
  let database: TestDatabase;
  let controller: ControllerHandle;
  let api: HarnessApi;
  const redisUrl = process.env['REDIS_URL'] ?? '';

  beforeAll(async () => {
    work = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-e2e-fleet-dispatch-'));
    database = await createTestDatabase();
    controller = await startController({
      databaseUrl: database.url,
      redisUrl,
      receiverAddress: { host: '127.0.0.1', port: 7443 },
      receiverToken: 'fleet-dispatch-receiver-token',
      logFile: path.join(work, 'controller.log'),
    });
    api = new HarnessApi(controller.url, controller.adminToken);
  });

  afterAll(async () => {
    await controller?.stop();
    await database?.drop();
    await fs.rm(work, { recursive: true, force: true });
  });

  function describeResult(result: DispatchMeasurement): string {
    const { dispatch, enqueued, tick, controllerConnections } = result;
    return `${result.hosts} hosts: dispatch p50 ${dispatch.p50} ms, p99 ${dispatch.p99} ms, max ${dispatch.max} ms; enqueued p99 ${enqueued.p99} ms; tick ${JSON.stringify(tick)}; controller connections ${controllerConnections.clients.map((client) => `${client.name}=${client.cmd}`).join(', ')}`;
  }

  it('dispatches every host with p99 under 1 s, on the same few controller connections as 10 hosts', async () => {
    const scenario = { controller, api, databaseUrl: database.url, redisUrl };
    // The small fleet first: the baseline of connections (and the controller's first tick, which warms it up).
    const small = await measureScheduleDispatch(scenario, { hosts: 10, label: 'small' });
    process.stderr.write(`fleet dispatch: ${describeResult(small)}\n`);
    expect(small.runsQueued).toBe(10);
    const names = (result: DispatchMeasurement): string[] => result.controllerConnections.clients.map((client) => client.name).sort();

    const attempts: DispatchMeasurement[] = [];
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      const large = await measureScheduleDispatch(scenario, { hosts: FLEET, label: `large-${attempt}`, timeoutMs: 30_000 });
      process.stderr.write(`fleet dispatch (attempt ${attempt}, load average ${os.loadavg()[0]?.toFixed(1) ?? '?'}): ${describeResult(large)}\n`);
      attempts.push(large);
      expect(large.runsQueued).toBe(FLEET);
      expect(large.dispatch.count).toBe(FLEET);
      // Nothing reached an agent before it was due, nor before BullMQ had it.
      expect(large.dispatch.p50).toBeGreaterThanOrEqual(0);
      expect(large.dispatch.max).toBeGreaterThanOrEqual(large.enqueued.max);
      // The controller's connections: its shared one, and for each of its two workers (schedule ticks, webhook
      // deliveries) the worker's own and its blocking one, whatever the fleet; none per host.
      expect(names(large)).toEqual(names(small));
      expect(large.controllerConnections.total).toBeLessThanOrEqual(5);
      expect(large.controllerConnections.clients.filter((client) => client.blocking).map((client) => client.name).sort()).toEqual([
        expect.stringMatching(/:w:berth:controller:.+:scheduler$/),
        expect.stringMatching(/:w:berth:controller:.+:webhooks$/),
      ]);
      if (large.dispatch.p99 < P99_TARGET_MS) break;
    }
    expect(Math.min(...attempts.map((attempt) => attempt.dispatch.p99))).toBeLessThan(P99_TARGET_MS);
  });
});
