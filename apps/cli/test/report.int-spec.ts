import { randomUUID } from 'node:crypto';
import { AGENT_API, type CreateHostResponse, type EnrollResponse, type FleetReport, type HostHistoryResponse, type RunFinishRequest, type RunResponse } from '@berth/contracts';
import { type ControllerHandle } from '@berth/harness';
import { type CliController, startCliController } from './cli-controller';
import { runBerth } from './run-berth';

const HOUR_MS = 3_600_000;

async function call<T>(url: string, method: 'GET' | 'POST', body?: unknown, credential?: string): Promise<T> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (credential !== undefined) headers['authorization'] = `Bearer ${credential}`;
  const response = await fetch(url, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  if (!response.ok) throw new Error(`${method} ${url}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

// The built CLI (`berth report`, `berth history`) against the built controller process; backups are reported
// through the agent API as an agent would, with snapshots published 2 h and 40 h ago (default 26 h objective).
describe('berth report and berth history', () => {
  let stack: CliController | undefined;
  let controller: ControllerHandle;

  const addHost = async (name: string): Promise<{ credential: string }> => {
    const created = await call<CreateHostResponse>(`${controller.url}/hosts`, 'POST', { name, paths: ['/srv'] }, controller.adminToken);
    const enrolled = await call<EnrollResponse>(`${controller.url}${AGENT_API.enroll}`, 'POST', { enrollmentSecret: created.enrollmentSecret });
    return { credential: enrolled.credential };
  };
  const backup = async (name: string, credential: string, hoursAgo: number, files: number): Promise<RunResponse> => {
    const run = await call<RunResponse>(`${controller.url}/hosts/${name}/backups`, 'POST', undefined, controller.adminToken);
    await call(`${controller.url}${AGENT_API.runStart(run.id)}`, 'POST', undefined, credential);
    const stats = { files, dirs: 1, bytes: files * 1024, bytesSent: files * 512, bytesStored: files * 256 };
    const finish: RunFinishRequest = {
      status: 'succeeded',
      counters: { filesTotal: files, filesDone: files, bytesDone: stats.bytes, bytesSent: stats.bytesSent, bytesStored: stats.bytesStored },
      snapshot: { id: randomUUID(), rootTree: `tree-${randomUUID()}`, stats, publishedAt: new Date(Date.now() - hoursAgo * HOUR_MS).toISOString() },
    };
    return call<RunResponse>(`${controller.url}${AGENT_API.runFinish(run.id)}`, 'POST', finish, credential);
  };

  beforeAll(async () => {
    stack = await startCliController('report');
    ({ controller } = stack);
  }, 60_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it('prints the fleet table with breach flags and totals, the same report as JSON, and a host history', async () => {
    const web = await addHost('report-web');
    await backup('report-web', web.credential, 2, 1200);
    const old = await addHost('report-old');
    const oldRun = await backup('report-old', old.credential, 40, 10);
    await call(`${controller.url}/hosts`, 'POST', { name: 'report-new', paths: ['/srv'] }, controller.adminToken);

    const json = await runBerth(['report', '--json'], controller);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout) as FleetReport;
    expect(report.hosts.map((host) => [host.hostName, host.breachesRpo])).toEqual([
      ['report-new', true],
      ['report-old', true],
      ['report-web', false],
    ]);
    expect(report.totals).toMatchObject({ hosts: 3, protected: 1, breaching: 2, neverBackedUp: 1 });

    const table = await runBerth(['report'], controller);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^report-web\s+online\s+ok\s+\S+ \S+\s+2h00m\s+succeeded\s+1,200\s+1\.2 MiB\s+600 KiB\s+300 KiB/m);
    expect(table.stdout).toMatch(/^report-old\s+online\s+BREACH\s+\S+ \S+\s+40h00m\s+succeeded/m);
    expect(table.stdout).toMatch(/^report-new\s+pending\s+BREACH\s+-\s+never\s+-/m);
    expect(table.stdout).toContain('3 hosts: 1 protected, 2 breaching the 26 h objective (1 never backed up); last run failed on 0\n');

    const history = await runBerth(['history', 'report-old', '--json'], controller);
    expect(history.code).toBe(0);
    expect((JSON.parse(history.stdout) as HostHistoryResponse).runs.map((run) => [run.runId, run.status, run.files])).toEqual([[oldRun.id, 'succeeded', 10]]);
    const historyTable = await runBerth(['history', 'report-old'], controller);
    expect(historyTable.stdout).toMatch(new RegExp(`^${oldRun.id}\\s+succeeded\\s+`, 'm'));

    const badLimit = await runBerth(['history', 'report-old', '--limit', '0'], controller);
    expect(badLimit.code).toBe(2);
    expect(badLimit.stderr).toContain('must be a whole number from 1 to 500');
    const unknown = await runBerth(['history', 'nobody-here'], controller);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no host named nobody-here');
  }, 60_000);
});
