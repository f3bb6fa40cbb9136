import { AGENT_API, type RunResponse } from '@berth/contracts';
import { UnrecoverableError } from 'bullmq';
import { Redis } from 'ioredis';
import { reconcilerLeaseKey, RunReconcilerService } from '../src/services/run-reconciler.service';
import { type EnrolledAgent, enrolledHost, triggerBackup } from './support/agent-client';
import { type ControllerHarness, startController } from './support/controller-app';
import { ManualWorker, type TakenJob } from './support/manual-worker';

jest.setTimeout(30_000);

const NO_REPORT = 'abandoned: no report from the agent (it was killed or lost its connection)';

// The reconciler on real PostgreSQL and Redis: a real BullMQ worker takes each job as an agent would, then the
// test makes of the job what a dead or misbehaving agent leaves behind, and the reconciler puts the run right.
describe('run reconciler', () => {
  let controller: ControllerHarness;
  let reconciler: RunReconcilerService;
  const workers: ManualWorker[] = [];

  beforeAll(async () => {
    controller = await startController();
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

  /** A run whose job an agent took and started, reporting progress up to /srv/a. */
  async function runningBackup(prefix: string, lockDurationMs?: number): Promise<{ agent: EnrolledAgent; worker: ManualWorker; run: RunResponse; taken: TakenJob }> {
    const agent = await enrolledHost(controller, prefix);
    const worker = await workerFor(agent, lockDurationMs);
    const run = await triggerBackup(controller, agent);
    const taken = await worker.take();
    await controller.api.post(AGENT_API.runStart(run.id)).set(agent.auth).expect(200);
    await controller.api.post(AGENT_API.runProgress(run.id)).set(agent.auth).send({ counters: { bytesSent: 2048 }, checkpoint: '/srv/a' }).expect(200);
    return { agent, worker, run, taken };
  }

  const getRun = async (id: string): Promise<RunResponse> => (await controller.api.get(`/runs/${id}`).expect(200)).body as RunResponse;
  const changesFor = async (runId: string, now?: Date) => (await reconciler.reconcileOnce(now)).filter((change) => change.runId === runId);

  it('leaves a run alone while its agent holds the job', async () => {
    const { run } = await runningBackup('held');
    expect(await changesFor(run.id)).toEqual([]);
    expect((await getRun(run.id)).status).toBe('running');
  });

  it('fails a running run whose job BullMQ failed, with the failed reason, closing its attempt', async () => {
    const { run, taken } = await runningBackup('jobfailed');
    // The agent's worker failed the job but its report never reached the controller.
    await taken.job.moveToFailed(new UnrecoverableError('job stalled more than allowable limit'), taken.token);

    expect(await changesFor(run.id)).toEqual([{ runId: run.id, status: 'failed', reason: 'BullMQ failed the job: job stalled more than allowable limit' }]);
    const failed = await getRun(run.id);
    expect(failed).toMatchObject({ status: 'failed', error: 'BullMQ failed the job: job stalled more than allowable limit', checkpoint: '/srv/a' });
    expect(failed.finishedAt).not.toBeNull();
    expect(failed.attemptHistory).toEqual([
      expect.objectContaining({ number: 1, outcome: 'abandoned', endReason: `${NO_REPORT}; BullMQ failed the job: job stalled more than allowable limit`, bytesSent: 2048 }),
    ]);
    // Once settled, a second pass changes nothing.
    expect(await changesFor(run.id)).toEqual([]);
  });

  it('sends a running run whose job went back to waiting or delayed back to queued, its attempt abandoned', async () => {
    const waiting = await runningBackup('waiting');
    await waiting.taken.job.moveToWait(waiting.taken.token);
    const delayed = await runningBackup('delayed');
    await delayed.taken.job.moveToDelayed(Date.now() + 60_000, delayed.taken.token);

    const changes = await reconciler.reconcileOnce();
    expect(changes.filter((change) => change.runId === waiting.run.id)).toEqual([{ runId: waiting.run.id, status: 'queued', reason: `${NO_REPORT}; BullMQ put its job back to waiting` }]);
    expect(changes.filter((change) => change.runId === delayed.run.id)).toEqual([{ runId: delayed.run.id, status: 'queued', reason: `${NO_REPORT}; BullMQ retries its job after the backoff` }]);
    const requeued = await getRun(waiting.run.id);
    expect(requeued).toMatchObject({ status: 'queued', finishedAt: null, attempts: 1 });
    expect(requeued.attemptHistory[0]).toMatchObject({ outcome: 'abandoned', endReason: `${NO_REPORT}; BullMQ put its job back to waiting` });

    // The next agent takes the job again: attempt 2 resumes from where attempt 1 got.
    await waiting.worker.take();
    await controller.api.post(AGENT_API.runStart(waiting.run.id)).set(waiting.agent.auth).expect(200);
    expect((await getRun(waiting.run.id)).attemptHistory.map((attempt) => [attempt.number, attempt.outcome, attempt.resumedFrom])).toEqual([
      [1, 'abandoned', null],
      [2, null, '/srv/a'],
    ]);
  });

  it('notices a killed agent by its expired job lock, and a restarted agent resumes the run', async () => {
    // The agent takes the job and dies: nobody renews the lock (1 s here, 30 s for real agents).
    const { agent, worker, run, taken } = await runningBackup('killed', 1_000);
    expect(await changesFor(run.id)).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(await taken.job.getState()).toBe('active');

    expect(await changesFor(run.id)).toEqual([{ runId: run.id, status: 'queued', reason: `${NO_REPORT}; its job lock expired` }]);
    expect((await getRun(run.id)).attemptHistory[0]?.outcome).toBe('abandoned');

    // The agent comes back: its worker's stalled check puts the job back to waiting, and it runs attempt 2.
    await worker.stalledBackToWaiting(run.id);
    expect(await taken.job.getState()).toBe('waiting');
    expect(await changesFor(run.id)).toEqual([]);
    const again = await worker.take();
    expect(again.job.id).toBe(run.id);
    await controller.api.post(AGENT_API.runStart(run.id)).set(agent.auth).expect(200);
    const resumed = await getRun(run.id);
    expect(resumed).toMatchObject({ status: 'running', attempts: 2 });
    expect(resumed.attemptHistory[1]).toMatchObject({ number: 2, resumedFrom: '/srv/a', outcome: null });
  });

  it('fails a run whose job completed without a final report, or is gone', async () => {
    const completed = await runningBackup('completed');
    await completed.taken.job.moveToCompleted('done', completed.taken.token, false);
    const lost = await runningBackup('lost');
    await lost.taken.job.moveToFailed(new Error('x'), lost.taken.token);
    await lost.taken.job.remove();

    const changes = await reconciler.reconcileOnce();
    expect(changes.find((change) => change.runId === completed.run.id)?.reason).toBe("the job completed but the agent's final report never reached the controller");
    expect(changes.find((change) => change.runId === lost.run.id)).toEqual({ runId: lost.run.id, status: 'failed', reason: 'job lost: the run has no BullMQ job any more (removed, or Redis lost its data)' });
    expect((await getRun(lost.run.id)).status).toBe('failed');
  });

  it('fails a queued run whose job BullMQ failed, once it has been idle past the grace period', async () => {
    const agent = await enrolledHost(controller, 'queuedfail');
    const worker = await workerFor(agent);
    const run = await triggerBackup(controller, agent);
    // A stalled job past BullMQ's limit is failed by the next worker that takes it, before any start report.
    const { job, token } = await worker.take();
    await job.moveToFailed(new UnrecoverableError('job stalled more than allowable limit'), token);

    expect(await changesFor(run.id)).toEqual([]);
    expect((await getRun(run.id)).status).toBe('queued');
    const later = new Date(Date.now() + 61_000);
    expect(await changesFor(run.id, later)).toEqual([{ runId: run.id, status: 'failed', reason: 'BullMQ failed the job: job stalled more than allowable limit' }]);
    expect(await getRun(run.id)).toMatchObject({ status: 'failed', attempts: 0, attemptHistory: [] });
  });

  it('runs by itself every interval on the replica holding the Redis lease, and not while another replica holds it', async () => {
    const periodic = await startController({ BERTH_RECONCILE_INTERVAL_MS: '1000' });
    const redis = new Redis(process.env['REDIS_URL'] ?? '');
    const leaseKey = reconcilerLeaseKey(periodic.config.databaseUrl);
    try {
      // Another replica holds the lease.
      await redis.set(leaseKey, 'another-replica', 'PX', 60_000);
      const agent = await enrolledHost(periodic, 'periodic');
      const worker = await ManualWorker.open(agent.hostId);
      workers.push(worker);
      const run = await triggerBackup(periodic, agent);
      const { job, token } = await worker.take();
      await periodic.api.post(AGENT_API.runStart(run.id)).set(agent.auth).expect(200);
      await job.moveToWait(token);
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      expect(((await periodic.api.get(`/runs/${run.id}`).expect(200)).body as RunResponse).status).toBe('running');

      // The other replica is gone: its lease expires (here: deleted), and this one takes over within an interval.
      await redis.del(leaseKey);
      const deadline = Date.now() + 5_000;
      let status = 'running';
      while (status === 'running' && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        status = ((await periodic.api.get(`/runs/${run.id}`).expect(200)).body as RunResponse).status;
      }
      expect(status).toBe('queued');
      expect(await redis.get(leaseKey)).not.toBeNull();
    } finally {
      redis.disconnect();
      await periodic.close();
    }
  });
});
