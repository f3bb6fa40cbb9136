import { AGENT_API, type ApiErrorBody, RECEIVER_API, type RunResponse, type VerifySessionRequest, type VerifySessionResponse } from '@berth/contracts';
import { completeBackup, enrolledHost, triggerBackup } from './support/agent-client';
import { type ControllerHarness, RECEIVER_TOKEN, startController } from './support/controller-app';

// Each suite clones a database and boots the whole app; Jest's default 5 s is tight on a shared 2-core machine.
jest.setTimeout(30_000);

describe('receiver API: session verification', () => {
  let controller: ControllerHarness;
  const receiver = { Authorization: `Bearer ${RECEIVER_TOKEN}` };

  beforeAll(async () => {
    controller = await startController();
  });
  afterAll(async () => {
    await controller.close();
  });

  const verify = (body: VerifySessionRequest, auth: Record<string, string> = receiver) => controller.api.post(RECEIVER_API.verifySession).set(auth).send(body);

  it('accepts a valid credential for its own queued or running run', async () => {
    const agent = await enrolledHost(controller, 'verify');
    const run = await triggerBackup(controller, agent);
    const queued = (await verify({ hostId: agent.hostId, runId: run.id, credential: agent.credential }).expect(200)).body as VerifySessionResponse;
    expect(queued.credentialId).toMatch(/^[0-9a-f-]{36}$/);
    expect(queued).toEqual({ credentialId: queued.credentialId, hostId: agent.hostId, hostName: agent.hostName, runId: run.id, kind: 'backup', attempt: 0, restore: null });
    await controller.api.post(AGENT_API.runStart(run.id)).set(agent.auth).expect(200);
    expect(((await verify({ hostId: agent.hostId, runId: run.id, credential: agent.credential }).expect(200)).body as VerifySessionResponse).attempt).toBe(1);
  });

  it('refuses a wrong or missing receiver token with 401', async () => {
    const agent = await enrolledHost(controller, 'token');
    const run = await triggerBackup(controller, agent);
    const body = { hostId: agent.hostId, runId: run.id, credential: agent.credential };
    expect(((await verify(body, { Authorization: 'Bearer not-the-receiver-token' }).expect(401)).body as ApiErrorBody).code).toBe('invalid_receiver_token');
    expect(((await verify(body, {}).expect(401)).body as ApiErrorBody).code).toBe('invalid_receiver_token');
    // The agent's own credential is not a receiver token either.
    await verify(body, agent.auth).expect(401);
  });

  it('refuses a wrong or revoked agent credential with 401', async () => {
    const agent = await enrolledHost(controller, 'badcred');
    const run = await triggerBackup(controller, agent);
    expect(((await verify({ hostId: agent.hostId, runId: run.id, credential: 'berth_agent_forged' }).expect(401)).body as ApiErrorBody).code).toBe('invalid_credential');
    await controller.sql('UPDATE agent_credentials SET revoked_at = now() WHERE host_id = $1', [agent.hostId]);
    await verify({ hostId: agent.hostId, runId: run.id, credential: agent.credential }).expect(401);
  });

  it("refuses another host's run, a claimed host that is not the credential's, and a finished run with 403", async () => {
    const owner = await enrolledHost(controller, 'runowner');
    const other = await enrolledHost(controller, 'otherhost');
    const run = await triggerBackup(controller, owner);
    const foreignRun = (await verify({ hostId: other.hostId, runId: run.id, credential: other.credential }).expect(403)).body as ApiErrorBody;
    expect(foreignRun.code).toBe('wrong_host');
    expect(((await verify({ hostId: owner.hostId, runId: run.id, credential: other.credential }).expect(403)).body as ApiErrorBody).code).toBe('wrong_host');

    const done = await completeBackup(controller, other);
    const finished = (await verify({ hostId: other.hostId, runId: done.id, credential: other.credential }).expect(403)).body as ApiErrorBody;
    expect(finished.code).toBe('run_not_active');
  });

  it('answers 404 for an unknown run and 400 for a malformed request', async () => {
    const agent = await enrolledHost(controller, 'unknownrun');
    const unknown = (await verify({ hostId: agent.hostId, runId: '00000000-0000-4000-8000-000000000000', credential: agent.credential }).expect(404)).body as ApiErrorBody;
    expect(unknown.code).toBe('run_not_found');
    const malformed = (await verify({ hostId: agent.hostId, runId: 'x', credential: agent.credential }).expect(400)).body as ApiErrorBody;
    expect(malformed.details).toEqual(['runId must be a UUID']);
  });

  it('tells the receiver which snapshot a restore run may read', async () => {
    const source = await enrolledHost(controller, 'rsource');
    const target = await enrolledHost(controller, 'rtarget');
    const backup = await completeBackup(controller, source);
    const snapshotId = backup.snapshotId ?? '';
    const restore = (await controller.api.post(`/snapshots/${snapshotId}/restore`).send({ targetHost: target.hostId, targetDir: '/restore', subPath: '/srv/www' }).expect(202)).body as RunResponse;
    const session = (await verify({ hostId: target.hostId, runId: restore.id, credential: target.credential }).expect(200)).body as VerifySessionResponse;
    expect(session).toEqual({ credentialId: session.credentialId, hostId: target.hostId, hostName: target.hostName, runId: restore.id, kind: 'restore', attempt: 0, restore: { snapshotId, sourceHostId: source.hostId, subPath: '/srv/www' } });
    // The snapshot's own host has no business in the target's restore.
    await verify({ hostId: source.hostId, runId: restore.id, credential: source.credential }).expect(403);
  });
});
