import { enrolledHost, triggerBackup } from './support/agent-client';
import { type ControllerHarness, startController } from './support/controller-app';
import { seedBackup, seedFailedBackup } from './support/report-fleet';

jest.setTimeout(60_000);

/** The value of one sample line of the exposition text, e.g. `berth_runs{kind="backup",status="failed"}`. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('GET /metrics', () => {
  let controller: ControllerHarness;

  beforeAll(async () => {
    controller = await startController();
  });
  afterAll(async () => {
    await controller.close();
  });

  it('exposes runs by status, run totals, the duration histogram, queue depths and hosts breaching their objective', async () => {
    const empty = await controller.api.get('/metrics').expect(200);
    // Prometheus' text format 0.0.4 (Express reorders the parameters).
    expect(empty.headers['content-type']).toMatch(/^text\/plain; /);
    expect(empty.headers['content-type']).toContain('version=0.0.4');
    expect(sample(empty.text, 'berth_hosts')).toBe(0);
    expect(sample(empty.text, 'berth_run_duration_seconds_count{kind="backup",status="succeeded"}')).toBeUndefined();

    const good = await enrolledHost(controller, 'metrics-good');
    await seedBackup(controller, good, { publishedHoursAgo: 1, files: 12, bytes: 4096, bytesSent: 3000, bytesStored: 2000, durationSeconds: 3 });
    await seedFailedBackup(controller, good, 'receiver_unavailable: connection refused');
    const idle = await enrolledHost(controller, 'metrics-idle');
    await triggerBackup(controller, idle);
    await enrolledHost(controller, 'metrics-never');

    const { text } = await controller.api.get('/metrics').expect(200);
    expect(sample(text, 'berth_runs{kind="backup",status="succeeded"}')).toBe(1);
    expect(sample(text, 'berth_runs{kind="backup",status="failed"}')).toBe(1);
    expect(sample(text, 'berth_runs{kind="backup",status="queued"}')).toBe(1);
    expect(sample(text, 'berth_runs_files{kind="backup",status="succeeded"}')).toBe(12);
    expect(sample(text, 'berth_runs_bytes_sent{kind="backup",status="succeeded"}')).toBe(3000);
    expect(sample(text, 'berth_runs_bytes_sent{kind="backup",status="failed"}')).toBe(10);
    expect(sample(text, 'berth_runs_bytes_stored{kind="backup",status="succeeded"}')).toBe(2000);

    // Observed when the finish reports arrived (the clock's duration, well under a second here).
    expect(sample(text, 'berth_run_duration_seconds_count{kind="backup",status="succeeded"}')).toBe(1);
    expect(sample(text, 'berth_run_duration_seconds_count{kind="backup",status="failed"}')).toBe(1);
    expect(sample(text, 'berth_run_duration_seconds_bucket{le="5",kind="backup",status="succeeded"}')).toBe(1);
    expect(text).toContain('# TYPE berth_run_duration_seconds histogram');

    // No worker takes jobs in this suite: the three backup jobs stay waiting in their host queues.
    expect(sample(text, 'berth_queue_jobs{state="waiting"}')).toBe(3);
    expect(sample(text, 'berth_queue_jobs{state="active"}')).toBe(0);

    expect(sample(text, 'berth_hosts')).toBe(3);
    expect(sample(text, 'berth_hosts_breaching_rpo')).toBe(2);
    expect(text).toMatch(/^berth_controller_process_resident_memory_bytes \d+/m);
  });
});
