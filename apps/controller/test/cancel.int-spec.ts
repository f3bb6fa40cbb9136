import { AGENT_API, type ApiErrorBody, type HeartbeatResponse, type HostResponse, type RunFinishRequest, type RunResponse } from '@berth/contracts';
import { UnrecoverableError } from 'bullmq';
import { RunReconcilerService } from '../src/services/run-reconciler.service';
import { completeBackup, type EnrolledAgent, enrolledHost, triggerBackup } from './support/agent-client';
import { apiAs, type ControllerHarness, startController } from './support/controller-app';
import { ManualWorker, type TakenJob } from './support/manual-worker';

jest.setTimeout(40_000);

const HEARTBEAT_MS = 1_000;
/** What a cancel by the suite's bootstrap admin token says. */
const BY_ADMIN = 'canceled at the request of bootstrap (admin)';
const OFFLINE_AFTER = 3;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// Cancel and agent liveness on the real controller, PostgreSQL and Redis; a real BullMQ worker takes jobs the way
// an agent's does, and the test plays the agent's API calls.
describe('cancel and agent liveness', () => {
  let controller: ControllerHarness;
  let reconciler: RunReconcilerService;
  const workers: ManualWorker[] = [];

  beforeAll(async () => {
    controller = await startController({ BERTH_AGENT_HEARTBEAT_MS: String(HEARTBEAT_MS), BERTH_AGENT_OFFLINE_AFTER: String(OFFLINE_AFTER) });
    reconciler = controller.app.get(RunReconcilerService);
  });
  afterAll(async () => {
    await Promise.all(workers.map((worker) => worker.close()));
    await controller.close();
  });

  async function workerFor(agent: EnrolledAgent, lockDurationMs?: number): Promise<ManualWorker> {
    const worker = await ManualWorker.open(agent.hostId, lockDurationMs === undefined ? {} : { lockDurationMs });
    workers.push(worker);
    return worker;
  }

  async function runningBackup(prefix: string, lockDurationMs?: number): Promise<{ agent: EnrolledAgent; run: RunResponse; taken: TakenJob }> {
    const agent = await enrolledHost(controller, prefix);
    const worker = await workerFor(agent, lockDurationMs);
    const run = await triggerBackup(controller, agent);
    const taken = await worker.take();
    await controller.api.post(AGENT_API.runStart(run.id)).set(agent.auth).expect(200);
    await controller.api.post(AGENT_API.runProgress(run.id)).set(agent.auth).send({ counters: { bytesSent: 4096 }, checkpoint: '/srv/a' }).expect(200);
    return { agent, run, taken };
  }

  const getRun = async (id: string): Promise<RunResponse> => (await controller.api.get(`/runs/${id}`).expect(200)).body as RunResponse;
  const cancel = (id: string) => controller.api.post(`/runs/${id}/cancel`);
  const heartbeat = async (agent: EnrolledAgent, runIds: string[]): Promise<HeartbeatResponse> =>
    (await controller.api.post(AGENT_API.heartbeat).set(agent.auth).send({ runIds }).expect(200)).body as HeartbeatResponse;

  it('cancels a queued run at once: the job leaves the queue, the run ends canceled, and a retry queues it again', async () => {
    const agent = await enrolledHost(controller, 'queued');
    const run = await triggerBackup(controller, agent);
    expect(await controller.job(agent.hostId, run.id)).toBeDefined();

    const canceled = (await cancel(run.id).expect(202)).body as RunResponse;
    expect(canceled).toMatchObject({ status: 'canceled', attempts: 0, error: BY_ADMIN });
    expect(canceled.finishedAt).not.toBeNull();
    expect(canceled.cancelRequestedAt).not.toBeNull();
    expect(await controller.job(agent.hostId, run.id)).toBeUndefined();

    // Canceling again is a finished run's 409, with its code.
    const again = (await cancel(run.id).expect(409)).body as ApiErrorBody;
    expect(again.code).toBe('run_not_cancelable');
    expect(again.message).toContain('has already ended (canceled');

    const retried = (await controller.api.post(`/runs/${run.id}/retry`).expect(202)).body as RunResponse;
    expect(retried).toMatchObject({ status: 'queued', error: null, cancelRequestedAt: null });
    expect(await (await controller.job(agent.hostId, run.id))?.getState()).toBe('waiting');
  });

  it('lets an operator token cancel, naming it on the run, and refuses a viewer token with 403', async () => {
    const token = async (name: string, role: string): Promise<string> =>
      ((await controller.api.post('/tokens').send({ name, role }).expect(201)).body as { token: string }).token;
    const agent = await enrolledHost(controller, 'roles');
    const run = await triggerBackup(controller, agent);
    await apiAs(controller.http, await token('watcher', 'viewer')).post(`/runs/${run.id}/cancel`).expect(403);
    expect((await getRun(run.id)).status).toBe('queued');
    const canceled = (await apiAs(controller.http, await token('ops-alice', 'operator')).post(`/runs/${run.id}/cancel`).expect(202)).body as RunResponse;
    expect(canceled).toMatchObject({ status: 'canceled', error: 'canceled at the request of ops-alice (operator)' });
  });

  it('answers 409 run_not_cancelable for a finished run and 404 for an unknown one', async () => {
    const agent = await enrolledHost(controller, 'finished');
    const finished = await completeBackup(controller, agent);
    const body = (await cancel(finished.id).expect(409)).body as ApiErrorBody;
    expect(body).toMatchObject({ statusCode: 409, code: 'run_not_cancelable' });
    expect(body.message).toMatch(/has already ended \(succeeded at .*\); there is nothing to cancel/);
    expect((await getRun(finished.id)).status).toBe('succeeded');
    expect(((await cancel('6f1c0a52-0000-4000-8000-000000000000').expect(404)).body as ApiErrorBody).code).toBe('run_not_found');
  });

  it('asks the agent holding a running run to stop: heartbeat and progress answers say so, its canceled report ends the run', async () => {
    const { agent, run, taken } = await runningBackup('running');
    expect(await heartbeat(agent, [run.id])).toEqual({ cancelRunIds: [], heartbeatMs: HEARTBEAT_MS });

    const requested = (await cancel(run.id).expect(202)).body as RunResponse;
    expect(requested).toMatchObject({ status: 'running', error: BY_ADMIN });
    expect(requested.cancelRequestedAt).not.toBeNull();
    // The job stays with its agent (BullMQ cannot remove a locked job), which learns of the cancel at its next call.
    expect(await taken.job.getState()).toBe('active');
    expect(await heartbeat(agent, [run.id])).toEqual({ cancelRunIds: [run.id], heartbeatMs: HEARTBEAT_MS });
    expect(await heartbeat(agent, [])).toEqual({ cancelRunIds: [], heartbeatMs: HEARTBEAT_MS });
    const progress = await controller.api.post(AGENT_API.runProgress(run.id)).set(agent.auth).send({ counters: { bytesSent: 8192 }, checkpoint: '/srv/b' }).expect(200);
    expect(progress.body).toEqual({ cancelRequested: true });
    // A second request changes nothing: the first one's time and requester stay.
    expect(((await cancel(run.id).expect(202)).body as RunResponse).cancelRequestedAt).toBe(requested.cancelRequestedAt);

    const report: RunFinishRequest = { status: 'canceled', counters: { bytesSent: 9000 }, error: 'canceled: canceled at the request of an operator' };
    const ended = (await controller.api.post(AGENT_API.runFinish(run.id)).set(agent.auth).send(report).expect(200)).body as RunResponse;
    expect(ended).toMatchObject({ status: 'canceled', checkpoint: '/srv/b', error: BY_ADMIN });
    expect(ended.finishedAt).not.toBeNull();
    expect(ended.attemptHistory).toEqual([expect.objectContaining({ number: 1, outcome: 'canceled', endReason: BY_ADMIN, bytesSent: 9000 })]);
    await taken.job.moveToFailed(new UnrecoverableError('canceled: canceled at the request of an operator'), taken.token);

    // The retry resumes from the checkpoint the canceled attempt left.
    const retried = (await controller.api.post(`/runs/${run.id}/retry`).expect(202)).body as RunResponse;
    expect(retried).toMatchObject({ status: 'queued', checkpoint: '/srv/b', cancelRequestedAt: null });
    const second = (await controller.api.post(AGENT_API.runStart(run.id)).set(agent.auth).expect(200)).body as { attempt: number };
    expect(second.attempt).toBe(2);
    expect((await getRun(run.id)).attemptHistory[1]).toMatchObject({ number: 2, resumedFrom: '/srv/b', outcome: null });
  });

  it('refuses a canceled report nobody asked for', async () => {
    const { agent, run } = await runningBackup('unasked');
    const body = (await controller.api.post(AGENT_API.runFinish(run.id)).set(agent.auth).send({ status: 'canceled', counters: {} }).expect(409)).body as ApiErrorBody;
    expect(body.message).toContain('Nobody asked to cancel this run');
    expect((await getRun(run.id)).status).toBe('running');
  });

  it('ends a queued run whose job an agent took but did not start yet when the agent starts it', async () => {
    const agent = await enrolledHost(controller, 'taken');
    const worker = await workerFor(agent);
    const run = await triggerBackup(controller, agent);
    await worker.take();

    const requested = (await cancel(run.id).expect(202)).body as RunResponse;
    expect(requested.status).toBe('queued');
    const refused = (await controller.api.post(AGENT_API.runStart(run.id)).set(agent.auth).expect(409)).body as ApiErrorBody;
    expect(refused.code).toBe('run_finished');
    expect(refused.message).toContain(`was canceled (${BY_ADMIN})`);
    const ended = await getRun(run.id);
    expect(ended).toMatchObject({ status: 'canceled', attempts: 0 });
    expect(ended.finishedAt).not.toBeNull();
  });

  it('ends a canceled running run when its agent, restarted, starts it again: the open attempt closes as abandoned', async () => {
    const { agent, run } = await runningBackup('restarted-after-cancel');
    const requested = (await cancel(run.id).expect(202)).body as RunResponse;
    expect(requested.status).toBe('running');
    // The agent died without reporting; its job runs again, and the new agent process starts the run.
    const refused = (await controller.api.post(AGENT_API.runStart(run.id)).set(agent.auth).expect(409)).body as ApiErrorBody;
    expect(refused.code).toBe('run_finished');
    const ended = await getRun(run.id);
    expect(ended).toMatchObject({ status: 'canceled', attempts: 1, error: BY_ADMIN });
    expect(ended.finishedAt).not.toBeNull();
    expect(ended.attemptHistory).toEqual([expect.objectContaining({ number: 1, outcome: 'abandoned', endReason: BY_ADMIN })]);
    expect(Date.parse(ended.attemptHistory[0]?.endedAt ?? '')).toBeGreaterThanOrEqual(Date.parse(requested.cancelRequestedAt ?? ''));
  });

  it('cancels at once a running run whose agent vanished (its job lock expired)', async () => {
    const { run, taken } = await runningBackup('vanished-cancel', 1_000);
    await sleep(1_500);
    const canceled = (await cancel(run.id).expect(202)).body as RunResponse;
    expect(canceled.status).toBe('canceled');
    expect(canceled.attemptHistory).toEqual([expect.objectContaining({ number: 1, outcome: 'abandoned', endReason: BY_ADMIN })]);
    expect(await controller.job(taken.job.data.hostId, run.id)).toBeUndefined();
  });

  it('shows a host online while its agent beats, and offline once it missed the configured number of heartbeats', async () => {
    const agent = await enrolledHost(controller, 'liveness');
    await heartbeat(agent, []);
    const online = (await controller.api.get(`/hosts/${agent.hostName}`).expect(200)).body as HostResponse;
    expect(online.status).toBe('online');
    const seenAt = new Date(online.lastSeenAt ?? '');

    // Within the threshold it stays online; past it the reconciler's pass marks it offline.
    await reconciler.reconcileOnce(new Date(seenAt.getTime() + HEARTBEAT_MS * OFFLINE_AFTER - 100));
    expect(((await controller.api.get(`/hosts/${agent.hostName}`).expect(200)).body as HostResponse).status).toBe('online');
    await reconciler.reconcileOnce(new Date(seenAt.getTime() + HEARTBEAT_MS * OFFLINE_AFTER + 100));
    const offline = (await controller.api.get(`/hosts/${agent.hostName}`).expect(200)).body as HostResponse;
    expect(offline).toMatchObject({ status: 'offline', lastSeenAt: online.lastSeenAt });
    const listed = ((await controller.api.get('/hosts').expect(200)).body as HostResponse[]).find((host) => host.id === agent.hostId);
    expect(listed?.status).toBe('offline');

    await heartbeat(agent, []);
    expect(((await controller.api.get(`/hosts/${agent.hostName}`).expect(200)).body as HostResponse).status).toBe('online');
  });

  it('fails the attempt of a vanished agent in BullMQ: retried after the backoff while attempts remain, then the run fails', async () => {
    const { agent, run, taken } = await runningBackup('vanished', 1_000);
    const worker = workers[workers.length - 1]!;
    const silentPast = (): Date => new Date(Date.now() + HEARTBEAT_MS * OFFLINE_AFTER + 1_000);

    for (let attempt = 1; attempt <= 3; attempt++) {
      if (attempt > 1) {
        // The agent came back for a moment and started the retried job, then vanished again.
        await (await controller.job(agent.hostId, run.id))?.promote();
        await worker.take();
        await controller.api.post(AGENT_API.runStart(run.id)).set(agent.auth).expect(200);
      }
      await sleep(1_500);
      const changes = (await reconciler.reconcileOnce(silentPast())).filter((change) => change.runId === run.id);
      const state = await (await controller.job(agent.hostId, run.id))?.getState();
      if (attempt < 3) {
        expect(changes).toEqual([{ runId: run.id, status: 'queued', reason: expect.stringContaining('its agent went offline (no heartbeat since') as string }]);
        expect(changes[0]?.reason).toMatch(/; BullMQ retries its job after the backoff$/);
        expect(state).toBe('delayed');
      } else {
        expect(changes).toEqual([{ runId: run.id, status: 'failed', reason: expect.stringMatching(/^BullMQ failed the job: its agent went offline/) as string }]);
        expect(state).toBe('failed');
      }
    }
    const failed = await getRun(run.id);
    expect(failed).toMatchObject({ status: 'failed', attempts: 3 });
    expect(failed.attemptHistory.map((attempt) => attempt.outcome)).toEqual(['abandoned', 'abandoned', 'abandoned']);
    expect(await taken.job.isFailed()).toBe(true);
  });
});
