import { AGENT_API, type ApiErrorBody, type BackupJobData, type RunFinishRequest, type RunResponse } from '@berth/contracts';
import { freePort } from '@berth/local-stack';
import { UnrecoverableError } from 'bullmq';
import { type EnrolledAgent, enrolledHost, publishedSnapshot, triggerBackup } from './support/agent-client';
import { type ControllerHarness, startApp, startController } from './support/controller-app';
import { ManualWorker } from './support/manual-worker';

jest.setTimeout(30_000);

// POST /runs/:id/retry on real PostgreSQL and Redis: the job is read back from Redis, and moved through BullMQ's
// states by a real worker that takes it as an agent would.
describe('POST /runs/:id/retry', () => {
  let controller: ControllerHarness;
  const workers: ManualWorker[] = [];

  beforeAll(async () => {
    controller = await startController();
  });
  afterAll(async () => {
    await Promise.all(workers.map((worker) => worker.close()));
    await controller.close();
  });

  async function workerFor(agent: EnrolledAgent): Promise<ManualWorker> {
    const worker = await ManualWorker.open(agent.hostId);
    workers.push(worker);
    return worker;
  }

  const start = (agent: EnrolledAgent, runId: string) => controller.api.post(AGENT_API.runStart(runId)).set(agent.auth).expect(200);
  const finish = (agent: EnrolledAgent, runId: string, report: RunFinishRequest) => controller.api.post(AGENT_API.runFinish(runId)).set(agent.auth).send(report).expect(200);
  const retry = (runId: string) => controller.api.post(`/runs/${runId}/retry`);

  /** A backup whose one attempt got to /srv/a and then failed for good: run failed, job in BullMQ's failed set. */
  async function failedBackup(agent: EnrolledAgent, worker: ManualWorker): Promise<RunResponse> {
    const run = await triggerBackup(controller, agent);
    const { job, token } = await worker.take();
    expect(job.id).toBe(run.id);
    await start(agent, run.id);
    await controller.api.post(AGENT_API.runProgress(run.id)).set(agent.auth).send({ counters: { bytesSent: 10 }, checkpoint: '/srv/a' }).expect(200);
    await finish(agent, run.id, { status: 'failed', counters: {}, error: 'receiver_unavailable: connection to receiver lost', willRetry: false });
    await job.moveToFailed(new UnrecoverableError('receiver_unavailable: connection to receiver lost'), token);
    expect(await job.getState()).toBe('failed');
    return (await controller.api.get(`/runs/${run.id}`).expect(200)).body as RunResponse;
  }

  it('queues a failed run again under the same job id, and its next attempt resumes from the checkpoint', async () => {
    const agent = await enrolledHost(controller, 'retry', ['/srv']);
    const worker = await workerFor(agent);
    const failed = await failedBackup(agent, worker);
    expect(failed).toMatchObject({ status: 'failed', attempts: 1, checkpoint: '/srv/a' });

    const retried = (await retry(failed.id).expect(202)).body as RunResponse;
    expect(retried).toMatchObject({ id: failed.id, status: 'queued', error: null, finishedAt: null, attempts: 1, checkpoint: '/srv/a' });

    // Same job, read back from Redis: waiting again, its attempts counted afresh, its data unchanged.
    const job = await controller.job(agent.hostId, failed.id);
    expect(job?.id).toBe(failed.id);
    expect(await job?.getState()).toBe('waiting');
    expect(job?.attemptsMade).toBe(0);
    const expected: BackupJobData = { kind: 'backup', runId: failed.id, hostId: agent.hostId, paths: ['/srv'], excludes: [] };
    expect(job?.data).toEqual(expected);

    const taken = await worker.take();
    expect(taken.job.id).toBe(failed.id);
    await start(agent, failed.id);
    const done = (await finish(agent, failed.id, { status: 'succeeded', counters: {}, snapshot: publishedSnapshot() })).body as RunResponse;
    expect(done.status).toBe('succeeded');
    expect(done.attemptHistory.map((attempt) => [attempt.number, attempt.outcome, attempt.resumedFrom])).toEqual([
      [1, 'failed', null],
      [2, 'succeeded', '/srv/a'],
    ]);
  });

  it('adds the job again when BullMQ no longer has it, or holds only a completed leftover', async () => {
    const agent = await enrolledHost(controller, 'gone', ['/data']);
    const worker = await workerFor(agent);

    const removed = await failedBackup(agent, worker);
    await (await controller.job(agent.hostId, removed.id))?.remove();
    expect(await controller.job(agent.hostId, removed.id)).toBeUndefined();
    await retry(removed.id).expect(202);
    const readded = await controller.job(agent.hostId, removed.id);
    expect(await readded?.getState()).toBe('waiting');
    expect(readded?.data).toMatchObject({ kind: 'backup', runId: removed.id, paths: ['/data'] });
    // Let it fail again, its job completed this time (the report said failed, the job did not).
    const taken = await worker.take();
    await start(agent, removed.id);
    await finish(agent, removed.id, { status: 'failed', counters: {}, error: 'gave up' });
    await taken.job.moveToCompleted('done', taken.token, false);
    expect(await taken.job.getState()).toBe('completed');

    await retry(removed.id).expect(202);
    const again = await controller.job(agent.hostId, removed.id);
    expect(await again?.getState()).toBe('waiting');
  });

  it('refuses runs that are active or published their snapshot, with a code and a message saying what to do', async () => {
    const agent = await enrolledHost(controller, 'refusals');
    const queued = await triggerBackup(controller, agent);
    const queuedError = (await retry(queued.id).expect(409)).body as ApiErrorBody;
    expect(queuedError).toMatchObject({ code: 'run_in_progress', message: expect.stringContaining('is queued') as unknown });

    await start(agent, queued.id);
    const runningError = (await retry(queued.id).expect(409)).body as ApiErrorBody;
    expect(runningError).toMatchObject({ code: 'run_in_progress', message: `Backup run ${queued.id} is running (attempt 1); there is nothing to retry` });

    const snapshot = publishedSnapshot();
    await finish(agent, queued.id, { status: 'succeeded', counters: {}, snapshot });
    const succeededError = (await retry(queued.id).expect(409)).body as ApiErrorBody;
    expect(succeededError).toEqual({
      statusCode: 409,
      code: 'run_not_retryable',
      message: `Backup run ${queued.id} succeeded and published snapshot ${snapshot.id}; there is nothing to retry (start a new backup of ${agent.hostName} instead)`,
    });

    const partial = await triggerBackup(controller, agent);
    await start(agent, partial.id);
    await finish(agent, partial.id, { status: 'partial', counters: {}, fileErrors: [{ path: '/srv/locked', message: 'EACCES' }], snapshot: publishedSnapshot() });
    const partialError = (await retry(partial.id).expect(409)).body as ApiErrorBody;
    expect(partialError.code).toBe('run_not_retryable');
    expect(partialError.message).toContain('ended partial');
    expect(partialError.message).toContain(`start a new backup of ${agent.hostName} instead`);

    expect(((await retry('00000000-0000-4000-8000-000000000000').expect(404)).body as ApiErrorBody).code).toBe('run_not_found');
    expect(((await retry('not-a-run').expect(404)).body as ApiErrorBody).code).toBe('run_not_found');
  });

  it('refuses to retry a backup while another backup of the host is active', async () => {
    const agent = await enrolledHost(controller, 'busy');
    const worker = await workerFor(agent);
    const failed = await failedBackup(agent, worker);
    const newer = await triggerBackup(controller, agent);
    const error = (await retry(failed.id).expect(409)).body as ApiErrorBody;
    expect(error.code).toBe('run_in_progress');
    expect(error.message).toContain(newer.id);
    expect(((await controller.api.get(`/runs/${failed.id}`).expect(200)).body as RunResponse).status).toBe('failed');
  });

  it('refuses while the job is still held by an agent (it reported the failure but has not let go yet)', async () => {
    const agent = await enrolledHost(controller, 'held');
    const worker = await workerFor(agent);
    const run = await triggerBackup(controller, agent);
    await worker.take();
    await start(agent, run.id);
    await finish(agent, run.id, { status: 'failed', counters: {}, error: 'nothing_to_back_up: /srv: ENOENT' });
    const error = (await retry(run.id).expect(409)).body as ApiErrorBody;
    expect(error.code).toBe('run_in_progress');
    expect(error.message).toContain('still held by the agent');
    const after = (await controller.api.get(`/runs/${run.id}`).expect(200)).body as RunResponse;
    expect(after).toMatchObject({ status: 'failed', error: 'nothing_to_back_up: /srv: ENOENT' });
    expect(await (await controller.job(agent.hostId, run.id))?.getState()).toBe('active');
  });

  it('answers 503 and leaves the run failed when Redis cannot take the job', async () => {
    const agent = await enrolledHost(controller, 'noredis');
    const worker = await workerFor(agent);
    const failed = await failedBackup(agent, worker);
    // The same database, served by a controller whose Redis does not answer.
    const cut = await startApp({ ...controller.config, redisUrl: `redis://127.0.0.1:${await freePort()}` });
    try {
      const error = (await cut.api.post(`/runs/${failed.id}/retry`).expect(503)).body as ApiErrorBody;
      expect(error.code).toBe('queue_unavailable');
    } finally {
      await cut.app.close();
    }
    const after = (await controller.api.get(`/runs/${failed.id}`).expect(200)).body as RunResponse;
    expect(after).toMatchObject({ status: 'failed', error: failed.error, finishedAt: failed.finishedAt });
  });
});
