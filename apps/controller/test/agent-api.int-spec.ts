import {
  AGENT_API,
  type AgentConfigResponse,
  type ApiErrorBody,
  type CreateHostResponse,
  type EnrollResponse,
  type HostResponse,
  hostQueueName,
  QUEUE_PREFIX,
  type RunFinishRequest,
  type RunResponse,
  type RunStartResponse,
} from '@berth/contracts';
import { enrolledHost, publishedSnapshot, triggerBackup } from './support/agent-client';
import { type ControllerHarness, startController } from './support/controller-app';

// Each suite clones a database and boots the whole app; Jest's default 5 s is tight on a shared 2-core machine.
jest.setTimeout(30_000);

describe('agent API', () => {
  let controller: ControllerHarness;

  beforeAll(async () => {
    controller = await startController({ BERTH_RECEIVER_ADDRESS: 'backup.internal:7443', BERTH_RECEIVER_SERVER_NAME: 'receiver.berth' });
  });
  afterAll(async () => {
    await controller.close();
  });

  const finish = (runId: string, auth: Record<string, string>, report: RunFinishRequest) => controller.api.post(AGENT_API.runFinish(runId)).set(auth).send(report);

  it('exchanges the enrollment secret for a credential exactly once', async () => {
    const name = controller.hostName('enroll');
    const created = (await controller.api.post('/hosts').send({ name, paths: ['/srv'] }).expect(201)).body as CreateHostResponse;
    const enrolled = (await controller.api.post(AGENT_API.enroll).send({ enrollmentSecret: created.enrollmentSecret }).expect(201)).body as EnrollResponse;
    expect(enrolled).toMatchObject({ hostId: created.host.id, hostName: name });
    expect(enrolled.credential).toMatch(/^berth_agent_[A-Za-z0-9_-]{43}$/);

    const again = (await controller.api.post(AGENT_API.enroll).send({ enrollmentSecret: created.enrollmentSecret }).expect(401)).body as ApiErrorBody;
    expect(again.code).toBe('invalid_enrollment_secret');
    expect(((await controller.api.post(AGENT_API.enroll).send({ enrollmentSecret: 'made-up' }).expect(401)).body as ApiErrorBody).code).toBe('invalid_enrollment_secret');
    expect(((await controller.api.get(`/hosts/${name}`).expect(200)).body as HostResponse).enrolled).toBe(true);
    const [row] = await controller.sql('SELECT secret_hash FROM agent_credentials WHERE host_id = $1', [created.host.id]);
    expect(row?.['secret_hash']).toMatch(/^[0-9a-f]{64}$/);
  });

  it('serves the agent its configuration and marks the host online', async () => {
    const agent = await enrolledHost(controller, 'config');
    const config = (await controller.api.get(AGENT_API.config).set(agent.auth).expect(200)).body as AgentConfigResponse;
    expect(config).toEqual({
      hostId: agent.hostId,
      hostName: agent.hostName,
      queueName: hostQueueName(agent.hostId),
      queuePrefix: QUEUE_PREFIX,
      redisUrl: controller.config.agentRedisUrl,
      redisUsername: `berth-agent-${agent.hostId}`,
      receiver: { host: 'backup.internal', port: 7443, tls: false, caPem: null, serverName: 'receiver.berth' },
      heartbeatMs: controller.config.liveness.heartbeatMs,
    });
    const host = (await controller.api.get(`/hosts/${agent.hostId}`).expect(200)).body as HostResponse;
    expect(host.status).toBe('online');
    expect(host.lastSeenAt).not.toBeNull();
  });

  it('refuses missing, unknown and revoked credentials with 401', async () => {
    const agent = await enrolledHost(controller, 'revoked');
    expect(((await controller.api.get(AGENT_API.config).expect(401)).body as ApiErrorBody).code).toBe('invalid_credential');
    await controller.api.get(AGENT_API.config).set({ Authorization: 'Bearer berth_agent_guess' }).expect(401);
    await controller.api.get(AGENT_API.config).set(agent.auth).expect(200);
    await controller.sql('UPDATE agent_credentials SET revoked_at = now() WHERE host_id = $1', [agent.hostId]);
    expect(((await controller.api.get(AGENT_API.config).set(agent.auth).expect(401)).body as ApiErrorBody).code).toBe('invalid_credential');
  });

  it('runs a backup through start, progress and finish, publishing the snapshot', async () => {
    const agent = await enrolledHost(controller, 'lifecycle');
    const run = await triggerBackup(controller, agent);

    const start = (await controller.api.post(AGENT_API.runStart(run.id)).set(agent.auth).expect(200)).body as RunStartResponse;
    expect(start).toEqual({ runId: run.id, kind: 'backup', attempt: 1 });

    const answer = await controller.api
      .post(AGENT_API.runProgress(run.id))
      .set(agent.auth)
      .send({ counters: { filesTotal: 10, filesDone: 4, bytesDone: 4096 }, checkpoint: '/srv/a' })
      .expect(200);
    expect(answer.body).toEqual({ cancelRequested: false });
    const progressed = (await controller.api.get(`/runs/${run.id}`).expect(200)).body as RunResponse;
    expect(progressed).toMatchObject({ status: 'running', attempts: 1, checkpoint: '/srv/a', counters: { filesTotal: 10, filesDone: 4, bytesDone: 4096, bytesSent: 0 } });
    expect(progressed.startedAt).not.toBeNull();

    // A report names only what changed: the counters and checkpoint it leaves out keep their values.
    await controller.api.post(AGENT_API.runProgress(run.id)).set(agent.auth).send({ counters: { bytesSent: 2048 }, bytesResent: 512 }).expect(200);
    const later = (await controller.api.get(`/runs/${run.id}`).expect(200)).body as RunResponse;
    expect(later).toMatchObject({ checkpoint: '/srv/a', counters: { filesTotal: 10, filesDone: 4, bytesDone: 4096, bytesSent: 2048 } });
    expect(later.attemptHistory).toEqual([expect.objectContaining({ number: 1, endedAt: null, bytesSent: 2048, bytesResent: 512 })]);

    const snapshot = publishedSnapshot(10);
    const counters = { filesTotal: 10, filesDone: 10, bytesTotal: 2 ** 40, bytesDone: 2 ** 40, bytesSent: 2 ** 39, bytesStored: 2 ** 38, filesSkipped: 0, fileErrors: 0 };
    const finished = (await finish(run.id, agent.auth, { status: 'succeeded', counters, snapshot }).expect(200)).body as RunResponse;
    expect(finished).toMatchObject({ status: 'succeeded', snapshotId: snapshot.id, counters, error: null });
    expect(finished.finishedAt).not.toBeNull();

    const [row] = await controller.sql('SELECT host_id, run_id, root_tree, files::text FROM snapshots WHERE id = $1', [snapshot.id]);
    expect(row).toEqual({ host_id: agent.hostId, run_id: run.id, root_tree: snapshot.rootTree, files: '10' });

    // The same report again (the agent missed our answer) changes nothing; a different one is refused.
    expect(((await finish(run.id, agent.auth, { status: 'succeeded', counters, snapshot }).expect(200)).body as RunResponse).status).toBe('succeeded');
    expect(((await finish(run.id, agent.auth, { status: 'failed', counters: {} }).expect(409)).body as ApiErrorBody).code).toBe('run_finished');
    expect(((await controller.api.post(AGENT_API.runStart(run.id)).set(agent.auth).expect(409)).body as ApiErrorBody).code).toBe('run_finished');
    await controller.api.post(AGENT_API.runProgress(run.id)).set(agent.auth).send({ counters: {} }).expect(409);
  });

  it('ends a backup partial with its file errors', async () => {
    const agent = await enrolledHost(controller, 'partial');
    const run = await triggerBackup(controller, agent);
    await controller.api.post(AGENT_API.runStart(run.id)).set(agent.auth).expect(200);
    const fileErrors = [
      { path: '/srv/locked', message: 'EACCES: permission denied' },
      { path: '/srv/gone', message: 'ENOENT: vanished during the walk' },
    ];
    const finished = (await finish(run.id, agent.auth, { status: 'partial', counters: { filesDone: 8 }, fileErrors, snapshot: publishedSnapshot(8) }).expect(200)).body as RunResponse;
    expect(finished).toMatchObject({ status: 'partial', counters: { filesDone: 8, fileErrors: 2 } });
    const shown = (await controller.api.get(`/runs/${run.id}`).expect(200)).body as RunResponse;
    expect(shown.fileErrors).toEqual(fileErrors);
  });

  it('sends a failed attempt that will be retried back to queued, then counts the next attempt', async () => {
    const agent = await enrolledHost(controller, 'retry');
    const run = await triggerBackup(controller, agent);
    await controller.api.post(AGENT_API.runStart(run.id)).set(agent.auth).expect(200);
    const retried = (await finish(run.id, agent.auth, { status: 'failed', counters: { filesDone: 2 }, error: 'connection reset by receiver', willRetry: true }).expect(200)).body as RunResponse;
    expect(retried).toMatchObject({ status: 'queued', finishedAt: null, error: 'connection reset by receiver', attempts: 1 });
    const second = (await controller.api.post(AGENT_API.runStart(run.id)).set(agent.auth).expect(200)).body as RunStartResponse;
    expect(second.attempt).toBe(2);
    const failed = (await finish(run.id, agent.auth, { status: 'failed', counters: {}, error: 'gave up' }).expect(200)).body as RunResponse;
    expect(failed).toMatchObject({ status: 'failed', error: 'gave up', attempts: 2 });
    expect(failed.finishedAt).not.toBeNull();
    // The host is free for the next backup.
    await controller.api.post(`/hosts/${agent.hostId}/backups`).expect(202);
  });

  it('keeps at most 10,000 file errors per run but counts them all', async () => {
    const agent = await enrolledHost(controller, 'manyerrors');
    const run = await triggerBackup(controller, agent);
    await controller.api.post(AGENT_API.runStart(run.id)).set(agent.auth).expect(200);
    const fileErrors = Array.from({ length: 10_000 }, (_, index) => ({ path: `/srv/unreadable/${index}`, message: 'EACCES' }));
    const report: RunFinishRequest = { status: 'failed', counters: {}, willRetry: true, fileErrors };
    await finish(run.id, agent.auth, report).expect(200);
    await controller.api.post(AGENT_API.runStart(run.id)).set(agent.auth).expect(200);
    const ended = (await finish(run.id, agent.auth, { status: 'partial', counters: {}, fileErrors: fileErrors.slice(0, 5), snapshot: publishedSnapshot() }).expect(200)).body as RunResponse;
    expect(ended.counters.fileErrors).toBe(10_005);
    const [row] = await controller.sql('SELECT count(*)::int AS stored FROM file_errors WHERE run_id = $1', [run.id]);
    expect(row?.['stored']).toBe(10_000);
    expect(((await controller.api.get(`/runs/${run.id}`).expect(200)).body as RunResponse).fileErrors).toHaveLength(100);
  }, 30_000);

  it('refuses reports that do not fit the run', async () => {
    const agent = await enrolledHost(controller, 'misfit');
    const run = await triggerBackup(controller, agent);
    const notStarted = (await controller.api.post(AGENT_API.runProgress(run.id)).set(agent.auth).send({ counters: { filesDone: 1 } }).expect(409)).body as ApiErrorBody;
    expect(notStarted.code).toBe('run_not_started');
    await controller.api.post(AGENT_API.runStart(run.id)).set(agent.auth).expect(200);
    const noSnapshot = (await finish(run.id, agent.auth, { status: 'succeeded', counters: {} }).expect(400)).body as ApiErrorBody;
    expect(noSnapshot.details).toEqual(['snapshot is required when a backup ends succeeded']);
    const badCounter = (await controller.api.post(AGENT_API.runProgress(run.id)).set(agent.auth).send({ counters: { bytesDone: -5 } }).expect(400)).body as ApiErrorBody;
    expect(badCounter.details).toEqual(['counters.bytesDone must not be less than 0']);
    expect(((await controller.api.post(AGENT_API.runStart('not-a-uuid')).set(agent.auth).expect(404)).body as ApiErrorBody).code).toBe('run_not_found');
  });

  it("refuses to let an agent touch another host's run (403)", async () => {
    const owner = await enrolledHost(controller, 'owner');
    const intruder = await enrolledHost(controller, 'intruder');
    const run = await triggerBackup(controller, owner);
    expect(((await controller.api.post(AGENT_API.runStart(run.id)).set(intruder.auth).expect(403)).body as ApiErrorBody).code).toBe('wrong_host');
    await controller.api.post(AGENT_API.runProgress(run.id)).set(intruder.auth).send({ counters: {} }).expect(403);
    await finish(run.id, intruder.auth, { status: 'failed', counters: {} }).expect(403);
    expect(((await controller.api.get(`/runs/${run.id}`).expect(200)).body as RunResponse).status).toBe('queued');
  });
});
