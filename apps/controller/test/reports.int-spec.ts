import { type ApiErrorBody, type CreateHostResponse, type FleetHostReport, type FleetReport, type HostHistoryResponse } from '@berth/contracts';
import { enrolledHost, triggerBackup } from './support/agent-client';
import { type ControllerHarness, startController } from './support/controller-app';
import { seedBackup, seedFailedBackup } from './support/report-fleet';

jest.setTimeout(60_000);

const MIB = 1024 * 1024;

// A seeded fleet against a 24 h objective (BERTH_RPO_HOURS overridden): hosts backed up recently, 25 h and 30 h
// ago, never, and one whose newest run failed after a good backup.
describe('fleet report and host history', () => {
  let controller: ControllerHarness;

  beforeAll(async () => {
    controller = await startController({ BERTH_RPO_HOURS: '24' });
  });
  afterAll(async () => {
    await controller.close();
  });

  it('reports each host against the objective, with its last runs and fleet totals', async () => {
    const fresh = await enrolledHost(controller, 'fresh');
    await seedBackup(controller, fresh, { publishedHoursAgo: 50, files: 1, bytes: MIB, bytesSent: MIB, bytesStored: MIB, durationSeconds: 1 });
    const freshRun = await seedBackup(controller, fresh, { publishedHoursAgo: 2, files: 1200, bytes: 40 * MIB, bytesSent: 3 * MIB, bytesStored: 2 * MIB, durationSeconds: 20 });
    const borderline = await enrolledHost(controller, 'borderline');
    await seedBackup(controller, borderline, { publishedHoursAgo: 25, files: 10, bytes: 10 * MIB, bytesSent: 10 * MIB, bytesStored: 8 * MIB, durationSeconds: 5 });
    const stale = await enrolledHost(controller, 'stale');
    await seedBackup(controller, stale, { publishedHoursAgo: 30, files: 5, bytes: 5 * MIB, bytesSent: 5 * MIB, bytesStored: 5 * MIB, durationSeconds: 10 });
    const failing = await enrolledHost(controller, 'failing');
    await seedBackup(controller, failing, { publishedHoursAgo: 1, files: 7, bytes: 7 * MIB, bytesSent: 7 * MIB, bytesStored: 7 * MIB, durationSeconds: 7 });
    const failedRun = await seedFailedBackup(controller, failing, 'paths_missing: /srv does not exist');
    const neverName = controller.hostName('never');
    const never = (await controller.api.post('/hosts').send({ name: neverName, paths: ['/srv'] }).expect(201)).body as CreateHostResponse;

    const before = Date.now();
    const report = (await controller.api.get('/reports/fleet').expect(200)).body as FleetReport;
    expect(Math.abs(Date.parse(report.generatedAt) - before)).toBeLessThan(5_000);
    expect(report.rpoHours).toBe(24);
    const byName = new Map(report.hosts.map((host) => [host.hostName, host]));
    const host = (name: string): FleetHostReport => byName.get(name) ?? fail(`no report line for ${name}`);
    expect(report.hosts.map((line) => line.hostName)).toEqual([...report.hosts.map((line) => line.hostName)].sort());

    const freshLine = host(fresh.hostName);
    expect(freshLine).toMatchObject({ hostId: fresh.hostId, hostStatus: 'online', rpoHours: 24, breachesRpo: false, snapshots: 2, bytesStoredTotal: 3 * MIB });
    expect(freshLine.lastSnapshot).toMatchObject({ id: freshRun.snapshotId, runId: freshRun.id });
    expect(freshLine.lastSnapshot?.ageSeconds).toBeGreaterThanOrEqual(2 * 3600);
    expect(freshLine.lastSnapshot?.ageSeconds).toBeLessThan(2 * 3600 + 60);
    expect(freshLine.lastSuccessfulRun).toMatchObject({ id: freshRun.id, status: 'succeeded', durationMs: 20_000, files: 1200, bytes: 40 * MIB, bytesSent: 3 * MIB, bytesStored: 2 * MIB, bytesPerSecond: 2 * MIB });
    expect(freshLine.lastRun).toMatchObject({ id: freshRun.id, status: 'succeeded', error: null });

    expect(host(borderline.hostName)).toMatchObject({ breachesRpo: true, snapshots: 1 });
    expect(host(borderline.hostName).lastSnapshot?.ageSeconds).toBeGreaterThanOrEqual(25 * 3600);
    expect(host(stale.hostName)).toMatchObject({ breachesRpo: true, lastSuccessfulRun: { durationMs: 10_000, bytesPerSecond: (5 * MIB) / 10 } });

    const failingLine = host(failing.hostName);
    expect(failingLine.breachesRpo).toBe(false);
    expect(failingLine.lastRun).toMatchObject({ id: failedRun.id, status: 'failed', error: 'paths_missing: /srv does not exist' });
    expect(failingLine.lastSuccessfulRun?.id).not.toBe(failedRun.id);

    expect(host(neverName)).toMatchObject({ hostId: never.host.id, hostStatus: 'pending', breachesRpo: true, lastSnapshot: null, lastSuccessfulRun: null, lastRun: null, snapshots: 0, bytesStoredTotal: 0 });

    expect(report.totals).toEqual({
      hosts: 5,
      protected: 2,
      breaching: 3,
      neverBackedUp: 1,
      lastRunFailed: 1,
      snapshots: 5,
      bytesProtected: (40 + 10 + 5 + 7) * MIB,
      bytesStored: (3 + 8 + 5 + 7) * MIB,
      lastRunsBytesSent: (3 + 10 + 5 + 7) * MIB,
    });
  });

  it("lists a host's backup runs newest first, by id or name, with a limit", async () => {
    const agent = await enrolledHost(controller, 'history');
    const first = await seedBackup(controller, agent, { publishedHoursAgo: 3, files: 100, bytes: 4 * MIB, bytesSent: 4 * MIB, bytesStored: 3 * MIB, durationSeconds: 8 });
    const failed = await seedFailedBackup(controller, agent, 'receiver_unavailable: connection refused');
    const queued = await triggerBackup(controller, agent);

    const history = (await controller.api.get(`/hosts/${agent.hostName}/history`).expect(200)).body as HostHistoryResponse;
    expect(history.hostId).toBe(agent.hostId);
    expect(history.hostName).toBe(agent.hostName);
    expect(history.runs.map((run) => [run.runId, run.status])).toEqual([
      [queued.id, 'queued'],
      [failed.id, 'failed'],
      [first.id, 'succeeded'],
    ]);
    expect(history.runs[2]).toEqual({
      runId: first.id,
      status: 'succeeded',
      createdAt: first.createdAt,
      startedAt: new Date(Date.parse(first.finishedAt ?? '') - 8_000).toISOString(),
      finishedAt: first.finishedAt,
      durationMs: 8_000,
      attempts: 1,
      files: 100,
      bytes: 4 * MIB,
      bytesSent: 4 * MIB,
      bytesStored: 3 * MIB,
      fileErrors: 0,
      snapshotId: first.snapshotId,
    });
    expect(history.runs[0]).toMatchObject({ startedAt: null, finishedAt: null, durationMs: null, attempts: 0, snapshotId: null });

    const limited = (await controller.api.get(`/hosts/${agent.hostId}/history?limit=2`).expect(200)).body as HostHistoryResponse;
    expect(limited.runs.map((run) => run.runId)).toEqual([queued.id, failed.id]);
  });

  it('refuses a bad limit and an unknown host', async () => {
    const agent = await enrolledHost(controller, 'historybad');
    const bad = (await controller.api.get(`/hosts/${agent.hostName}/history?limit=0`).expect(400)).body as ApiErrorBody;
    expect(bad.details).toEqual(['limit must not be less than 1']);
    const tooMany = (await controller.api.get(`/hosts/${agent.hostName}/history?limit=501`).expect(400)).body as ApiErrorBody;
    expect(tooMany.details).toEqual(['limit must not be greater than 500']);
    expect(((await controller.api.get('/hosts/nobody-here/history').expect(404)).body as ApiErrorBody).code).toBe('host_not_found');
  });
});

function fail(message: string): never {
  throw new Error(message);
}
