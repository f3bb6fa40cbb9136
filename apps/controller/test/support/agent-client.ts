import { AGENT_API, type CreateHostResponse, type EnrollResponse, type RunFinishRequest, type RunResponse } from '@berth/contracts';
import { randomUUID } from 'node:crypto';
import { type ControllerHarness } from './controller-app';

/** What an agent of one host holds after enrolling. */
export interface EnrolledAgent {
  hostId: string;
  hostName: string;
  credential: string;
  auth: { Authorization: string };
  /** The host's Redis ACL user (null when the controller runs without per-agent users). */
  redisUsername: string | null;
  /** ioredis / BullMQ connection options of this agent: its own Redis user, its credential as password. */
  redis: { url: string; username?: string; password?: string };
}

/** Creates a host through the API and enrolls its agent with the one-time secret. */
export async function enrolledHost(controller: ControllerHarness, prefix: string, paths: string[] = ['/srv']): Promise<EnrolledAgent> {
  const hostName = controller.hostName(prefix);
  const created = (await controller.api.post('/hosts').send({ name: hostName, paths }).expect(201)).body as CreateHostResponse;
  const enrolled = (await controller.api.post(AGENT_API.enroll).send({ enrollmentSecret: created.enrollmentSecret }).expect(201)).body as EnrollResponse;
  const login = enrolled.redisUsername === null ? {} : { username: enrolled.redisUsername, password: enrolled.credential };
  return {
    hostId: enrolled.hostId,
    hostName,
    credential: enrolled.credential,
    auth: { Authorization: `Bearer ${enrolled.credential}` },
    redisUsername: enrolled.redisUsername,
    redis: { url: controller.config.agentRedisUrl, ...login },
  };
}

export async function triggerBackup(controller: ControllerHarness, agent: EnrolledAgent): Promise<RunResponse> {
  return (await controller.api.post(`/hosts/${agent.hostName}/backups`).expect(202)).body as RunResponse;
}

export function publishedSnapshot(files = 3): NonNullable<RunFinishRequest['snapshot']> {
  return { id: randomUUID(), rootTree: `tree-${randomUUID()}`, stats: { files, dirs: 1, bytes: 300, bytesSent: 300, bytesStored: 200 }, publishedAt: new Date().toISOString() };
}

/** A whole successful backup as an agent would report it; returns the finished run. */
export async function completeBackup(controller: ControllerHarness, agent: EnrolledAgent): Promise<RunResponse> {
  const run = await triggerBackup(controller, agent);
  await controller.api.post(AGENT_API.runStart(run.id)).set(agent.auth).expect(200);
  const finish: RunFinishRequest = { status: 'succeeded', counters: { filesTotal: 3, filesDone: 3 }, snapshot: publishedSnapshot() };
  return (await controller.api.post(AGENT_API.runFinish(run.id)).set(agent.auth).send(finish).expect(200)).body as RunResponse;
}
