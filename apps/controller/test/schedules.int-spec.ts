import { type CreateHostResponse, type GroupResponse, QUEUE_PREFIX, type RunResponse } from '@berth/contracts';
import { Queue } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { scheduleQueueName } from '../src/repositories/schedule-queue.repository';
import { ScheduleTickService } from '../src/services/schedule-tick.service';
import { spreadOffsetMs } from '../src/utils/schedule.util';
import { type ControllerHarness, startApp, startController, testEnvironment } from './support/controller-app';

/** A schedule that never fires during a test: the tests below call ticks themselves, at moments they choose. */
const DAILY_AT_3 = { cron: '0 3 * * *', timeZone: 'UTC' };

// Ticks fire every 2 s; a test waits for two or three of them on a shared 2-core machine.
jest.setTimeout(60_000);

const EVERY_2_SECONDS = '*/2 * * * * *';

interface TickRow {
  runs_queued: number;
  skipped: { host: string; reason: string }[];
  catch_up: boolean;
  fired_at: Date;
}

describe('schedules', () => {
  let controller: ControllerHarness;
  let schedulerQueue: Queue;

  beforeAll(async () => {
    controller = await startController();
    schedulerQueue = new Queue(scheduleQueueName(controller.database.url), { connection: { url: process.env['REDIS_URL'] ?? '' }, prefix: QUEUE_PREFIX });
  });
  afterAll(async () => {
    await controller.close();
    await schedulerQueue.obliterate({ force: true });
    await schedulerQueue.close();
  });

  async function groupWithHosts(prefix: string, hostCount: number, schedule: Record<string, unknown>): Promise<{ group: GroupResponse; hostIds: string[] }> {
    const name = controller.hostName(prefix);
    await controller.api.post('/groups').send({ name, paths: ['/srv'] }).expect(201);
    const hostIds: string[] = [];
    for (let index = 1; index <= hostCount; index++) {
      const created = (await controller.api.post('/hosts').send({ name: controller.hostName(`${prefix}-${index}`), group: name }).expect(201)).body as CreateHostResponse;
      hostIds.push(created.host.id);
    }
    // The schedule comes last, so that its first tick finds every host in the group.
    const group = (await controller.api.patch(`/groups/${name}`).send({ schedule }).expect(200)).body as GroupResponse;
    return { group, hostIds };
  }

  async function ticks(scheduleId: string): Promise<TickRow[]> {
    return (await controller.sql('SELECT runs_queued, skipped, catch_up, fired_at FROM schedule_ticks WHERE schedule_id = $1 ORDER BY id', [scheduleId])) as unknown as TickRow[];
  }

  async function waitForTicks(scheduleId: string, count: number, timeoutMs = 15_000): Promise<TickRow[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const rows = await ticks(scheduleId);
      if (rows.length >= count) return rows;
      if (Date.now() > deadline) throw new Error(`schedule ${scheduleId}: ${rows.length} tick(s) after ${timeoutMs} ms, expected ${count}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  async function waitForJobEnd(jobId: string): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (!['completed', 'failed'].includes(await schedulerQueue.getJobState(jobId))) {
      if (Date.now() > deadline) throw new Error(`tick job ${jobId} did not finish within 10 s`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async function runsOf(hostId: string): Promise<RunResponse[]> {
    return (await controller.api.get(`/runs?hostId=${hostId}`).expect(200)).body as RunResponse[];
  }

  async function schedulerOf(scheduleId: string): Promise<{ pattern?: string | null; tz?: string | null } | undefined> {
    const schedulers = await schedulerQueue.getJobSchedulers(0, -1, true);
    return schedulers.find((scheduler) => scheduler.key === `schedule.${scheduleId}`);
  }

  it('fires every 2 s and starts each host of the group at its own offset in the spread', async () => {
    const spreadSeconds = 3;
    const { group, hostIds } = await groupWithHosts('fleet', 4, { cron: EVERY_2_SECONDS, timeZone: 'UTC', spreadSeconds });
    const scheduleId = group.schedule?.id ?? '';
    expect(await schedulerOf(scheduleId)).toMatchObject({ pattern: EVERY_2_SECONDS, tz: 'UTC' });

    // The first tick queues a run per host; the next finds them still queued (no agent takes them).
    const [first, second] = await waitForTicks(scheduleId, 2);
    expect(first).toMatchObject({ runs_queued: 4, skipped: [], catch_up: false });
    expect(second?.runs_queued).toBe(0);
    expect(second?.skipped.map((skip) => skip.reason)).toEqual(['run_in_progress', 'run_in_progress', 'run_in_progress', 'run_in_progress']);

    const firedAt = (first?.fired_at ?? new Date(0)).getTime();
    const starts: number[] = [];
    for (const hostId of hostIds) {
      const [run, ...more] = await runsOf(hostId);
      expect(more).toEqual([]);
      expect(run?.status).toBe('queued');
      const job = await controller.job(hostId, run?.id ?? '');
      const offset = spreadOffsetMs(hostId, spreadSeconds);
      const delay = job?.opts.delay ?? 0;
      const startsAfterTick = (job?.timestamp ?? 0) + delay - firedAt;
      if (delay > 0) {
        // The job becomes available at the tick's time plus the host's stable offset, however late the tick ran
        // (BullMQ stamps the job a moment after the delay is measured, so never early, and only a little late).
        expect(startsAfterTick - offset).toBeGreaterThanOrEqual(0);
        expect(startsAfterTick - offset).toBeLessThan(250);
      } else {
        // The tick itself ran later than this host's offset: its job is available at once.
        expect(startsAfterTick).toBeGreaterThanOrEqual(offset);
      }
      expect(startsAfterTick).toBeLessThan(spreadSeconds * 1000);
      starts.push(startsAfterTick);
    }
    // The four hosts start at different moments inside the 3 s spread, not all at the tick.
    expect(Math.max(...starts) - Math.min(...starts)).toBeGreaterThan(100);
    expect(new Set(hostIds.map((id) => spreadOffsetMs(id, spreadSeconds))).size).toBe(4);

    await controller.api.patch(`/groups/${group.name}`).send({ schedule: null }).expect(200);
    expect(await schedulerOf(scheduleId)).toBeUndefined();
  });

  it('records a skip and starts nothing when the tick falls outside the window', async () => {
    const now = new Date();
    const startHour = (now.getUTCHours() + 2) % 24;
    const window = `${String(startHour).padStart(2, '0')}:00-${String((startHour + 2) % 24).padStart(2, '0')}:00`;
    const { group, hostIds } = await groupWithHosts('night', 2, { cron: EVERY_2_SECONDS, timeZone: 'UTC', window });
    const [tick] = await waitForTicks(group.schedule?.id ?? '', 1);
    expect(tick?.runs_queued).toBe(0);
    expect(tick?.skipped.map((skip) => skip.reason)).toEqual(['outside_window', 'outside_window']);
    for (const hostId of hostIds) expect(await runsOf(hostId)).toEqual([]);
    await controller.api.patch(`/groups/${group.name}`).send({ schedule: null }).expect(200);
  });

  it('starts no scheduled run of a paused host, and runs it again once unpaused', async () => {
    const { group, hostIds } = await groupWithHosts('hold', 2, { cron: EVERY_2_SECONDS, timeZone: 'UTC' });
    const [pausedId, otherId] = hostIds as [string, string];
    await controller.api.post(`/hosts/${pausedId}/pause`).expect(200);
    const scheduleId = group.schedule?.id ?? '';
    const [tick] = await waitForTicks(scheduleId, 1);
    expect(tick).toMatchObject({ runs_queued: 1, skipped: [{ host: controller.hostName('hold-1'), reason: 'paused' }] });
    expect(await runsOf(pausedId)).toEqual([]);
    expect(await runsOf(otherId)).toHaveLength(1);

    await controller.api.post(`/groups/${group.name}/pause`).expect(200);
    await controller.api.post(`/hosts/${pausedId}/unpause`).expect(200);
    const seen = (await ticks(scheduleId)).length;
    const afterGroupPause = (await waitForTicks(scheduleId, seen + 2)).slice(seen + 1);
    expect(afterGroupPause[0]?.skipped.map((skip) => skip.reason)).toEqual(['paused', 'paused']);
    expect(await runsOf(pausedId)).toEqual([]);

    await controller.api.post(`/groups/${group.name}/unpause`).expect(200);
    const resumed = (await ticks(scheduleId)).length;
    await waitForTicks(scheduleId, resumed + 2);
    expect(await runsOf(pausedId)).toHaveLength(1);
    await controller.api.patch(`/groups/${group.name}`).send({ schedule: null }).expect(200);
  });

  it('honours the window per host: a host whose place in the spread falls after the window closes is skipped', async () => {
    const spreadSeconds = 3600;
    const { group, hostIds } = await groupWithHosts('spread-window', 12, { ...DAILY_AT_3, window: '01:00-02:00', spreadSeconds });
    const offsets = new Map(hostIds.map((id) => [id, spreadOffsetMs(id, spreadSeconds)]));
    const sorted = [...offsets.values()].sort((a, b) => a - b);
    // A tick tomorrow, timed so that the window's end (02:00) falls between the 6th and 7th host's start.
    const cut = ((sorted[5] ?? 0) + (sorted[6] ?? 0)) / 2;
    const tomorrow = new Date(Date.now() + 86_400_000);
    const windowEnd = Date.UTC(tomorrow.getUTCFullYear(), tomorrow.getUTCMonth(), tomorrow.getUTCDate(), 2, 0, 0);
    const firedAt = new Date(windowEnd - Math.round(cut));

    const outcome = await controller.app.get(ScheduleTickService).tick(group.schedule?.id ?? '', firedAt, false);
    const inside = hostIds.filter((id) => (offsets.get(id) ?? 0) < cut);
    const outside = hostIds.filter((id) => (offsets.get(id) ?? 0) > cut);
    expect(inside).toHaveLength(6);
    expect(outcome?.runsQueued).toBe(6);
    expect(outcome?.skipped).toHaveLength(6);
    expect(outcome?.skipped.every((skip) => skip.reason === 'outside_window')).toBe(true);
    for (const hostId of outside) expect(await runsOf(hostId)).toEqual([]);
    // Each started host's job waits for its own start: the tick plus its offset, however late the tick ran.
    for (const hostId of inside) {
      const [run] = await runsOf(hostId);
      const job = await controller.job(hostId, run?.id ?? '');
      const startsAt = (job?.timestamp ?? 0) + (job?.opts.delay ?? 0);
      expect(Math.abs(startsAt - (firedAt.getTime() + (offsets.get(hostId) ?? 0)))).toBeLessThan(250);
    }
    await controller.api.patch(`/groups/${group.name}`).send({ schedule: null }).expect(200);
  });

  it('starts one run per host when ticks and manual backups race, and reports hosts without paths', async () => {
    const { group, hostIds } = await groupWithHosts('race', 6, DAILY_AT_3);
    const bare = controller.hostName('race-bare');
    await controller.api.post('/groups').send({ name: bare }).expect(201);
    await controller.api.post('/hosts').send({ name: controller.hostName('race-bare-1'), group: bare }).expect(201);
    const bareGroup = (await controller.api.patch(`/groups/${bare}`).send({ schedule: DAILY_AT_3 }).expect(200)).body as GroupResponse;

    const ticks = controller.app.get(ScheduleTickService);
    const scheduleId = group.schedule?.id ?? '';
    const [first, second, ...manual] = await Promise.all([
      ticks.tick(scheduleId, new Date(), false),
      ticks.tick(scheduleId, new Date(), false),
      ...hostIds.slice(0, 2).map(async (hostId) => (await controller.api.post(`/hosts/${hostId}/backups`)).status),
    ]);
    // 202: queued; 409: a tick was first.
    const manualStarts = manual.filter((status) => status === 202).length;
    expect(manual.every((status) => status === 202 || status === 409)).toBe(true);
    expect((first?.runsQueued ?? 0) + (second?.runsQueued ?? 0) + manualStarts).toBe(6);
    for (const hostId of hostIds) {
      const runs = await runsOf(hostId);
      expect(runs.map((run) => run.status)).toEqual(['queued']);
      expect((await controller.job(hostId, runs[0]?.id ?? ''))?.id).toBe(runs[0]?.id);
    }

    const noPaths = await ticks.tick(bareGroup.schedule?.id ?? '', new Date(), false);
    expect(noPaths).toEqual({ runsQueued: 0, skipped: [{ host: controller.hostName('race-bare-1'), reason: 'no_paths' }] });
    await controller.api.patch(`/groups/${group.name}`).send({ schedule: null }).expect(200);
    await controller.api.patch(`/groups/${bare}`).send({ schedule: null }).expect(200);
  });

  it('ends the runs of a tick as failed when Redis does not take their jobs, and says so in the tick', async () => {
    const { group, hostIds } = await groupWithHosts('no-redis', 3, DAILY_AT_3);
    // A second controller on the same database whose Redis is unreachable.
    const cut = await startApp(testEnvironment({ DATABASE_URL: controller.database.url, REDIS_URL: 'redis://127.0.0.1:1' }));
    try {
      const outcome = await cut.app.get(ScheduleTickService).tick(group.schedule?.id ?? '', new Date(), false);
      expect(outcome?.runsQueued).toBe(0);
      expect(outcome?.skipped.map((skip) => skip.reason)).toEqual(['queue_unavailable', 'queue_unavailable', 'queue_unavailable']);
    } finally {
      await cut.app.close();
    }
    for (const hostId of hostIds) {
      const runs = await runsOf(hostId);
      expect(runs).toEqual([expect.objectContaining({ status: 'failed', error: expect.stringContaining('Could not be queued: Redis is not reachable') as string })]);
    }
    await controller.api.patch(`/groups/${group.name}`).send({ schedule: null }).expect(200);
  });

  it('keeps the BullMQ job scheduler in step with a host schedule as it changes and goes', async () => {
    const created = (await controller.api.post('/hosts').send({ name: controller.hostName('solo'), paths: ['/srv'] }).expect(201)).body as CreateHostResponse;
    const host = created.host;
    const set = await controller.api.patch(`/hosts/${host.id}`).send({ schedule: { cron: '0 2 * * *', timeZone: 'Europe/Berlin' } }).expect(200);
    const scheduleId = (set.body as { schedule: { id: string } }).schedule.id;
    expect(await schedulerOf(scheduleId)).toMatchObject({ pattern: '0 2 * * *', tz: 'Europe/Berlin' });
    await controller.api.patch(`/hosts/${host.id}`).send({ schedule: { cron: '15 4 * * 1-5', timeZone: 'America/New_York', window: '04:00-06:00' } }).expect(200);
    expect(await schedulerOf(scheduleId)).toMatchObject({ pattern: '15 4 * * 1-5', tz: 'America/New_York' });
    await controller.api.patch(`/hosts/${host.id}`).send({ schedule: null }).expect(200);
    expect(await schedulerOf(scheduleId)).toBeUndefined();
    expect(await controller.sql('SELECT id FROM schedules WHERE id = $1', [scheduleId])).toEqual([]);
  });

  it('drops a tick delivered long after its occurrence (the boot catch-up stands for it) and runs a timely one', async () => {
    const { group, hostIds } = await groupWithHosts('late', 1, { cron: '0 3 * * *', timeZone: 'UTC' });
    const scheduleId = group.schedule?.id ?? '';
    // Tick jobs as BullMQ's scheduler makes them: prevMillis is the occurrence they stand for.
    const late = await schedulerQueue.add('tick', { scheduleId }, { prevMillis: Date.now() - 3_600_000 });
    await waitForJobEnd(late.id ?? '');
    expect(await ticks(scheduleId)).toEqual([]);
    expect(await runsOf(hostIds[0] ?? '')).toEqual([]);
    const timely = await schedulerQueue.add('tick', { scheduleId }, { prevMillis: Date.now() });
    await waitForJobEnd(timely.id ?? '');
    expect(await ticks(scheduleId)).toEqual([expect.objectContaining({ runs_queued: 1, catch_up: false })]);
  });

  it('at boot: reconciles schedulers with the database and catches up once per missed schedule (policy one, not none)', async () => {
    const daily = { cron: '0 3 * * *', timeZone: 'UTC' };
    const one = await groupWithHosts('missed', 2, { ...daily, catchUp: 'one' });
    const none = await groupWithHosts('skipped', 1, { ...daily, catchUp: 'none' });
    const oneId = one.group.schedule?.id ?? '';
    const noneId = none.group.schedule?.id ?? '';
    // The controller "was down" for three days: the last tick and the schedules are older than the last 03:00.
    await controller.sql(`UPDATE schedules SET last_tick_at = now() - interval '3 days', created_at = now() - interval '4 days' WHERE id = ANY($1::uuid[])`, [[oneId, noneId]]);
    // A scheduler the database no longer knows, and one the database has but Redis lost.
    const stale = randomUUID();
    await schedulerQueue.upsertJobScheduler(`schedule.${stale}`, { pattern: '0 5 * * *' }, { name: 'tick', data: { scheduleId: stale } });
    await schedulerQueue.removeJobScheduler(`schedule.${noneId}`);

    const replica = await startApp(testEnvironment({ DATABASE_URL: controller.database.url }));
    try {
      expect(await schedulerOf(stale)).toBeUndefined();
      expect(await schedulerOf(noneId)).toMatchObject({ pattern: '0 3 * * *', tz: 'UTC' });
      expect(await ticks(oneId)).toEqual([expect.objectContaining({ runs_queued: 2, catch_up: true, skipped: [] })]);
      expect(await ticks(noneId)).toEqual([]);
      for (const hostId of one.hostIds) expect((await runsOf(hostId)).map((run) => run.status)).toEqual(['queued']);
      for (const hostId of none.hostIds) expect(await runsOf(hostId)).toEqual([]);
      const [row] = await controller.sql('SELECT last_tick_at FROM schedules WHERE id = $1', [oneId]);
      expect(Date.now() - (row?.['last_tick_at'] as Date).getTime()).toBeLessThan(30_000);
    } finally {
      await replica.app.close();
    }

    // A second boot finds the catch-up done: no second catch-up tick.
    const again = await startApp(testEnvironment({ DATABASE_URL: controller.database.url }));
    await again.app.close();
    expect(await ticks(oneId)).toHaveLength(1);
  });
});
