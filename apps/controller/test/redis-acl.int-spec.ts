import { agentRedisUsername, type AgentConfigResponse, AGENT_API, type EnrollResponse, hostQueueName, type JobData, QUEUE_PREFIX } from '@berth/contracts';
import { REDIS_DISCONNECT_TIMEOUT_MS } from '@berth/queueing';
import { type Job, Queue, Worker } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { AgentAccessService } from '../src/services/agent-access.service';
import { enrolledHost, type EnrolledAgent, triggerBackup } from './support/agent-client';
import { type ControllerHarness, startController } from './support/controller-app';

jest.setTimeout(30_000);

const REDIS_URL = process.env['REDIS_URL'] ?? '';

/** A connection logged in as the agent's own Redis user; one that revocation cut closes at once, as the services' do. */
function connectAs(agent: EnrolledAgent, extra: RedisOptions = {}): Redis {
  const redis = new Redis(agent.redis.url, {
    username: agent.redis.username,
    password: agent.redis.password,
    maxRetriesPerRequest: null,
    disconnectTimeout: REDIS_DISCONNECT_TIMEOUT_MS,
    ...extra,
  });
  redis.on('error', () => undefined);
  return redis;
}

/** The error Redis answers a login with (ioredis reports it as an error event, then "Connection is closed"). */
async function loginError(options: RedisOptions): Promise<string> {
  const redis = new Redis(REDIS_URL, { ...options, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, disconnectTimeout: REDIS_DISCONNECT_TIMEOUT_MS });
  const first = new Promise<string>((resolve) => redis.once('error', (error: Error) => resolve(error.message)));
  await redis.connect().catch(() => undefined);
  const message = await first;
  redis.disconnect();
  return message;
}

async function refusal(command: Promise<unknown>): Promise<string> {
  try {
    await command;
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('the command was allowed');
}

describe('Redis ACL: each agent is limited to its own host queue', () => {
  let controller: ControllerHarness;
  let a: EnrolledAgent;
  let b: EnrolledAgent;
  const open: Redis[] = [];

  beforeAll(async () => {
    controller = await startController();
    a = await enrolledHost(controller, 'acl-a');
    b = await enrolledHost(controller, 'acl-b');
  });
  afterAll(async () => {
    for (const redis of open) redis.disconnect();
    await controller.close();
  });

  it('enrollment gives the agent its own Redis user; the URL it gets carries no password', async () => {
    expect(a.redisUsername).toBe(agentRedisUsername(a.hostId));
    const config = (await controller.api.get(AGENT_API.config).set(a.auth).expect(200)).body as AgentConfigResponse;
    expect(config.redisUsername).toBe(agentRedisUsername(a.hostId));
    expect(new URL(config.redisUrl).password).toBe('');
    const admin = new Redis(REDIS_URL);
    open.push(admin);
    const rules = (await admin.call('ACL', 'GETUSER', agentRedisUsername(a.hostId))) as unknown[];
    const field = (name: string): unknown => rules[rules.indexOf(name) + 1];
    // Redis holds the SHA-256 of the credential, the same hash the controller stores.
    const [row] = await controller.sql('SELECT secret_hash FROM agent_credentials WHERE host_id = $1', [a.hostId]);
    expect(field('passwords')).toEqual([row?.['secret_hash']]);
    expect(field('keys')).toBe(`~${QUEUE_PREFIX}:${hostQueueName(a.hostId)}:*`);
    expect(field('channels')).toBe('');
  });

  it("runs agent A's real BullMQ worker on A's queue with A's credentials", async () => {
    const run = await triggerBackup(controller, a);
    const connection = connectAs(a);
    open.push(connection);
    const seen: Job<JobData>[] = [];
    const worker = new Worker<JobData>(
      hostQueueName(a.hostId),
      async (job) => {
        seen.push(job);
        await job.updateProgress({ filesDone: 1 });
        return { ok: true };
      },
      { connection, prefix: QUEUE_PREFIX, lockDuration: 5_000, stalledInterval: 1_000 },
    );
    const completed = new Promise<void>((resolve) => worker.on('completed', (job) => job.id === run.id && resolve()));
    await completed;
    await worker.close();
    expect(seen.map((job) => job.id)).toEqual([run.id]);
    // Job data holds no secrets: nothing credential-like, and not the credential's value anywhere in the stored job.
    const data = seen[0]?.data as unknown as Record<string, unknown>;
    expect(Object.keys(data).sort()).toEqual(['excludes', 'hostId', 'kind', 'paths', 'runId']);
    const reader = new Redis(REDIS_URL);
    open.push(reader);
    const stored = await reader.hgetall(`${QUEUE_PREFIX}:${hostQueueName(a.hostId)}:${run.id}`);
    const everything = JSON.stringify(stored);
    expect(everything).not.toContain(a.credential);
    expect(everything).not.toMatch(/credential|secret|password|token/i);
  });

  it("gets NOPERM on host B's queue keys, scripts on them, and anything outside its own queue", async () => {
    const redis = connectAs(a, { maxRetriesPerRequest: 1 });
    open.push(redis);
    const own = `${QUEUE_PREFIX}:${hostQueueName(a.hostId)}`;
    const other = `${QUEUE_PREFIX}:${hostQueueName(b.hostId)}`;
    // Its own queue's keys work.
    expect(await redis.llen(`${own}:wait`)).toBeGreaterThanOrEqual(0);
    expect(await redis.hget(`${own}:meta`, 'opts.maxLenEvents')).not.toBe(undefined);
    // Host B's do not: reading, writing, blocking pops, scripts declaring them or calling them.
    expect(await refusal(redis.llen(`${other}:wait`))).toMatch(/^NOPERM/);
    expect(await refusal(redis.hgetall(`${other}:meta`))).toMatch(/^NOPERM/);
    expect(await refusal(redis.zadd(`${other}:delayed`, 0, 'forged'))).toMatch(/^NOPERM/);
    expect(await refusal(redis.bzpopmin(`${other}:marker`, 0.01))).toMatch(/^NOPERM/);
    expect(await refusal(redis.eval("return redis.call('LLEN', KEYS[1])", 1, `${other}:wait`))).toMatch(/NOPERM|no permissions/);
    expect(await refusal(redis.eval(`return redis.call('LLEN', '${other}:wait')`, 1, `${own}:wait`))).toMatch(/NOPERM|no permissions|can't access/);
    // Nor anything else: other keys, key listing, server administration, pub/sub.
    expect(await refusal(redis.get('berth:controller:reconciler:x'))).toMatch(/^NOPERM/);
    expect(await refusal(redis.keys('*'))).toMatch(/^NOPERM/);
    expect(await refusal(redis.call('FLUSHALL'))).toMatch(/^NOPERM/);
    expect(await refusal(redis.call('CONFIG', 'GET', '*'))).toMatch(/^NOPERM/);
    expect(await refusal(redis.call('ACL', 'LIST'))).toMatch(/^NOPERM/);
    expect(await refusal(redis.publish('anything', 'x'))).toMatch(/^NOPERM/);
    // A BullMQ producer on B's queue with A's credentials cannot add a job either.
    const forged = new Queue(hostQueueName(b.hostId), { connection: redis, prefix: QUEUE_PREFIX });
    forged.on('error', () => undefined);
    expect(await refusal(forged.add('backup', { kind: 'backup' }))).toMatch(/NOPERM|no permissions|can't access/);
    await forged.close();
  });

  it('cannot log in with another host\'s user, and the users are written again after Redis lost them', async () => {
    expect(await loginError({ username: agentRedisUsername(b.hostId), password: a.credential })).toMatch(/^WRONGPASS/);
    // A restarted Redis has no ACL users (they live in memory): the controller writes them when it reconnects.
    const admin = new Redis(REDIS_URL);
    open.push(admin);
    await admin.call('ACL', 'DELUSER', agentRedisUsername(a.hostId));
    await controller.app.get(AgentAccessService).syncAll();
    const again = connectAs(a, { maxRetriesPerRequest: 1 });
    open.push(again);
    expect(await again.llen(`${QUEUE_PREFIX}:${hostQueueName(a.hostId)}:wait`)).toBeGreaterThanOrEqual(0);
  });

  it("revocation shuts the agent's Redis user out at once and closes its open connection", async () => {
    const agent = await enrolledHost(controller, 'acl-revoked');
    const connection = connectAs(agent, { maxRetriesPerRequest: 1, retryStrategy: () => null });
    open.push(connection);
    expect(await connection.llen(`${QUEUE_PREFIX}:${hostQueueName(agent.hostId)}:wait`)).toBe(0);
    const closed = new Promise<void>((resolve) => connection.once('end', () => resolve()));
    await controller.api.post(`/hosts/${agent.hostName}/credentials/revoke`).expect(200);
    await closed;
    expect(await loginError({ username: agent.redis.username, password: agent.redis.password })).toMatch(/^WRONGPASS/);
  });
});

describe('Redis ACL: a Redis that refuses ACL commands', () => {
  const user = `berth-test-noacl-${randomBytes(4).toString('hex')}`;
  const password = randomBytes(16).toString('hex');
  let admin: Redis;
  let controller: ControllerHarness;

  beforeAll(async () => {
    admin = new Redis(REDIS_URL);
    // Like a managed Redis: every data command, no user management.
    await admin.call('ACL', 'SETUSER', user, 'reset', 'on', `>${password}`, '~*', '&*', '+@all', '-@admin', '-@dangerous', '+info', '+client|setname');
    const url = new URL(REDIS_URL);
    url.username = user;
    url.password = password;
    controller = await startController({ REDIS_URL: url.toString() });
  });
  afterAll(async () => {
    await controller.close();
    await admin.call('ACL', 'DELUSER', user);
    await admin.quit();
  });

  it('falls back to the shared agent Redis URL: enrollment and configuration name no Redis user', async () => {
    const created = (await controller.api.post('/hosts').send({ name: controller.hostName('noacl'), paths: ['/srv'] }).expect(201)).body as { enrollmentSecret: string };
    const enrolled = (await controller.api.post(AGENT_API.enroll).send({ enrollmentSecret: created.enrollmentSecret }).expect(201)).body as EnrollResponse;
    expect(enrolled.redisUsername).toBeNull();
    const config = (await controller.api.get(AGENT_API.config).set({ Authorization: `Bearer ${enrolled.credential}` }).expect(200)).body as AgentConfigResponse;
    expect(config).toMatchObject({ redisUsername: null, redisUrl: controller.config.agentRedisUrl });
    expect(controller.app.get(AgentAccessService).enabled).toBe(false);
  });
});
