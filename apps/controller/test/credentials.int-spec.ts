import {
  AGENT_API,
  type AgentCredentialResponse,
  type ApiErrorBody,
  type CheckCredentialsResponse,
  type EnrollmentSecretResponse,
  type EnrollResponse,
  hostQueueName,
  type JobData,
  QUEUE_PREFIX,
  RECEIVER_API,
  type RevokeCredentialsResponse,
  type RunResponse,
} from '@berth/contracts';
import { REDIS_DISCONNECT_TIMEOUT_MS } from '@berth/queueing';
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import request from 'supertest';
import { CREDENTIAL_REVOKED_REASON } from '../src/services/credential.service';
import { enrolledHost, triggerBackup } from './support/agent-client';
import { apiAs, type ControllerHarness, RECEIVER_TOKEN, startController } from './support/controller-app';

jest.setTimeout(30_000);

describe('agent credentials: list, revoke, re-enroll', () => {
  let controller: ControllerHarness;
  const receiver = { Authorization: `Bearer ${RECEIVER_TOKEN}` };

  beforeAll(async () => {
    controller = await startController();
  });
  afterAll(async () => {
    await controller.close();
  });

  const credentialsOf = async (host: string): Promise<AgentCredentialResponse[]> =>
    (await controller.api.get(`/hosts/${host}/credentials`).expect(200)).body as AgentCredentialResponse[];

  it("lists a host's credentials without their secrets", async () => {
    const agent = await enrolledHost(controller, 'list');
    await controller.api.get(AGENT_API.config).set(agent.auth).expect(200);
    const [credential, ...rest] = await credentialsOf(agent.hostName);
    expect(rest).toEqual([]);
    expect(Object.keys(credential ?? {}).sort()).toEqual(['createdAt', 'hostId', 'id', 'lastUsedAt', 'revokedAt']);
    expect(credential).toMatchObject({ hostId: agent.hostId, revokedAt: null });
    expect(credential?.lastUsedAt).not.toBeNull();
    expect(JSON.stringify(credential)).not.toContain(agent.credential);
    await controller.api.get('/hosts/no-such-host/credentials').expect(404);
  });

  it('revokes at once: the running run and its job fail for good, the agent API and the receiver refuse the credential', async () => {
    const agent = await enrolledHost(controller, 'revoke');
    const run = await triggerBackup(controller, agent);
    // The agent's real worker, logged in as its own Redis user, holds the job while the run is running. Revocation
    // cuts its connection, which then closes at once, as the agent's does.
    const connection = new Redis(agent.redis.url, {
      username: agent.redis.username,
      password: agent.redis.password,
      maxRetriesPerRequest: null,
      retryStrategy: () => null,
      disconnectTimeout: REDIS_DISCONNECT_TIMEOUT_MS,
    });
    connection.on('error', () => undefined);
    let taken: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (taken = resolve));
    const worker = new Worker<JobData>(
      hostQueueName(agent.hostId),
      async () => {
        taken();
        await new Promise(() => undefined);
      },
      { connection, prefix: QUEUE_PREFIX, lockDuration: 30_000 },
    );
    worker.on('error', () => undefined);
    try {
      await held;
      await controller.api.post(AGENT_API.runStart(run.id)).set(agent.auth).expect(200);
      const verified = (await controller.api.post(RECEIVER_API.verifySession).set(receiver).send({ hostId: agent.hostId, runId: run.id, credential: agent.credential }).expect(200)).body as { credentialId: string };

      const revoked = (await controller.api.post(`/hosts/${agent.hostName}/credentials/revoke`).expect(200)).body as RevokeCredentialsResponse;
      expect(revoked.revoked.map((credential) => credential.id)).toEqual([verified.credentialId]);
      expect(revoked.revoked[0]?.revokedAt).not.toBeNull();
      expect(revoked.failedRuns).toEqual([run.id]);

      const ended = (await controller.api.get(`/runs/${run.id}`).expect(200)).body as RunResponse;
      expect(ended).toMatchObject({ status: 'failed', error: CREDENTIAL_REVOKED_REASON });
      expect(ended.attemptHistory.map((attempt) => [attempt.outcome, attempt.endReason])).toEqual([['failed', CREDENTIAL_REVOKED_REASON]]);
      // BullMQ failed the job as unrecoverable: no retry, although attempts remained.
      const job = await controller.job(agent.hostId, run.id);
      expect(await job?.getState()).toBe('failed');
      expect(job?.failedReason).toBe(CREDENTIAL_REVOKED_REASON);
      expect(job?.attemptsMade).toBe(1);

      const refused = (await controller.api.get(AGENT_API.config).set(agent.auth).expect(401)).body as ApiErrorBody;
      expect(refused.message).toMatch(/revoked/);
      const session = (await controller.api.post(RECEIVER_API.verifySession).set(receiver).send({ hostId: agent.hostId, runId: run.id, credential: agent.credential }).expect(401)).body as ApiErrorBody;
      expect(session.message).toBe('agent credential revoked');
      const check = (await controller.api.post(RECEIVER_API.checkCredentials).set(receiver).send({ credentialIds: [verified.credentialId] }).expect(200)).body as CheckCredentialsResponse;
      expect(check.invalid).toEqual([verified.credentialId]);
      // Revoking again changes nothing.
      expect(((await controller.api.post(`/hosts/${agent.hostName}/credentials/revoke`).expect(200)).body as RevokeCredentialsResponse).revoked).toEqual([]);
    } finally {
      await worker.close(true);
      connection.disconnect();
    }
  });

  it('re-enrolls with a new one-time secret: a new credential, the revoked one stays revoked', async () => {
    const agent = await enrolledHost(controller, 'reenroll');
    await controller.api.post(`/hosts/${agent.hostName}/credentials/revoke`).expect(200);
    const secret = (await controller.api.post(`/hosts/${agent.hostName}/enrollment`).expect(201)).body as EnrollmentSecretResponse;
    expect(secret).toMatchObject({ hostId: agent.hostId, hostName: agent.hostName });
    const enrolled = (await controller.api.post(AGENT_API.enroll).send({ enrollmentSecret: secret.enrollmentSecret }).expect(201)).body as EnrollResponse;
    expect(enrolled.credential).not.toBe(agent.credential);
    await controller.api.get(AGENT_API.config).set({ Authorization: `Bearer ${enrolled.credential}` }).expect(200);
    await controller.api.get(AGENT_API.config).set(agent.auth).expect(401);
    await controller.api.post(AGENT_API.enroll).send({ enrollmentSecret: secret.enrollmentSecret }).expect(401);
    const listed = await credentialsOf(agent.hostId);
    expect(listed.map((credential) => credential.revokedAt === null)).toEqual([false, true]);
  });

  it('revokes one credential by id; an unknown or foreign id is 404', async () => {
    const agent = await enrolledHost(controller, 'one');
    const other = await enrolledHost(controller, 'other');
    const [own] = await credentialsOf(agent.hostName);
    const [foreign] = await credentialsOf(other.hostName);
    expect(((await controller.api.delete(`/hosts/${agent.hostName}/credentials/${foreign?.id ?? ''}`).expect(404)).body as ApiErrorBody).code).toBe('not_found');
    await controller.api.delete(`/hosts/${agent.hostName}/credentials/not-a-uuid`).expect(404);
    const result = (await controller.api.delete(`/hosts/${agent.hostName}/credentials/${own?.id ?? ''}`).expect(200)).body as RevokeCredentialsResponse;
    expect(result.revoked.map((credential) => credential.id)).toEqual([own?.id]);
    await controller.api.get(AGENT_API.config).set(agent.auth).expect(401);
    await controller.api.get(AGENT_API.config).set(other.auth).expect(200);
  });

  it('is for admins only: an operator gets 403 on every credential and enrollment route', async () => {
    const agent = await enrolledHost(controller, 'roles');
    const { token } = (await controller.api.post('/tokens').send({ name: 'operator-credentials', role: 'operator' }).expect(201)).body as { token: string };
    const operator = apiAs(controller.http, token);
    const [credential] = await credentialsOf(agent.hostName);
    for (const denied of [
      operator.get(`/hosts/${agent.hostName}/credentials`),
      operator.post(`/hosts/${agent.hostName}/credentials/revoke`),
      operator.delete(`/hosts/${agent.hostName}/credentials/${credential?.id ?? ''}`),
      operator.post(`/hosts/${agent.hostName}/enrollment`),
    ]) {
      expect(((await denied.expect(403)).body as ApiErrorBody).code).toBe('forbidden');
    }
    // Nothing happened: the agent's credential still works.
    await controller.api.get(AGENT_API.config).set(agent.auth).expect(200);
  });

  it('lets only the receiver ask about credentials', async () => {
    await request(controller.http).post(RECEIVER_API.checkCredentials).send({ credentialIds: [] }).expect(401);
    const bad = (await controller.api.post(RECEIVER_API.checkCredentials).set(receiver).send({ credentialIds: ['x'] }).expect(400)).body as ApiErrorBody;
    expect(bad.details?.join(' ')).toMatch(/credentialIds/);
  });
});
