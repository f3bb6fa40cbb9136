import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync } from 'node:fs';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, QueueEvents } from 'bullmq';
import { JobName, type JobData } from '@berth/contracts';
import { bootAgent, type RunningAgent } from '../src/boot/agent-boot';
import { CREDENTIAL_FILE, CredentialStore } from '../src/controller/credential-store';
import { AgentErrorCode } from '../src/errors/agent-error';
import { silentLogger } from '../src/util/logger';
import { RecordingController } from './recording-controller';
import { ScriptedReceiver } from './scripted-receiver';

jest.setTimeout(30_000);

const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const PREFIX = 'berth-agent-test';
const MAIN = join(__dirname, '..', 'dist', 'main.js');

describe('agent boot', () => {
  let base: string;
  let receiver: ScriptedReceiver;
  let controller: RecordingController;
  let queueName: string;
  let agent: RunningAgent | null;

  beforeEach(async () => {
    base = mkdtempSync(join(tmpdir(), 'berth-boot-'));
    receiver = await new ScriptedReceiver().start();
    queueName = `host.test-${randomUUID()}`;
    controller = await new RecordingController({
      config: { queueName, queuePrefix: PREFIX, redisUrl: REDIS_URL, redisUsername: null, receiver: { host: '127.0.0.1', port: receiver.port, tls: false, caPem: null, serverName: null }, heartbeatMs: 60_000 },
    }).start();
    agent = null;
  });
  afterEach(async () => {
    await agent?.stop();
    await controller.stop();
    await receiver.stop();
    await rm(base, { recursive: true, force: true });
  });

  const config = (extra: { enrollmentSecret?: string | null } = {}) => ({
    controllerUrl: controller.url,
    enrollmentSecret: extra.enrollmentSecret === undefined ? 'enroll-secret' : extra.enrollmentSecret,
    stateDir: join(base, 'state'),
    concurrency: 1,
  });

  it('enrolls once, keeps the credential with mode 0600, and reuses it on the next boot', async () => {
    agent = await bootAgent(config(), silentLogger, new AbortController().signal);
    expect(agent).toMatchObject({ hostId: controller.hostId, queueName });
    const file = join(base, 'state', CREDENTIAL_FILE);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(file, 'utf8'))).toMatchObject({ hostId: controller.hostId, credential: controller.credential, controllerUrl: controller.url });
    await agent.stop();
    agent = await bootAgent(config({ enrollmentSecret: null }), silentLogger, new AbortController().signal);
    expect(controller.calls.filter((call) => call.path === '/agent/v1/enroll')).toHaveLength(1);
    expect(controller.calls.filter((call) => call.path === '/agent/v1/config').map((call) => call.authorization)).toEqual([
      `Bearer ${controller.credential}`,
      `Bearer ${controller.credential}`,
    ]);
  });

  it('says how to enroll when there is no credential and no secret', async () => {
    await expect(bootAgent(config({ enrollmentSecret: null }), silentLogger, new AbortController().signal)).rejects.toMatchObject({
      code: AgentErrorCode.Enrollment,
    });
  });

  it('reports a refused enrollment secret and a refused stored credential as such', async () => {
    const refused = await bootAgent(config({ enrollmentSecret: 'wrong' }), silentLogger, new AbortController().signal).catch((error: unknown) => error);
    expect(refused).toMatchObject({ code: AgentErrorCode.Enrollment });
    expect((refused as Error).message).toMatch(/enrollment refused/);
    await new CredentialStore(join(base, 'state')).save({ controllerUrl: controller.url, hostId: 'h', hostName: 'n', credential: 'revoked', enrolledAt: new Date().toISOString() });
    const revoked = await bootAgent(config({ enrollmentSecret: null }), silentLogger, new AbortController().signal).catch((error: unknown) => error);
    expect(revoked).toMatchObject({ code: AgentErrorCode.CredentialRefused });
    expect((revoked as Error).message).toMatch(/remove .*credential\.json and enroll again/);
  });

  it('enrolls again when the stored credential is refused and a new enrollment secret is given (berth host reenroll)', async () => {
    const store = new CredentialStore(join(base, 'state'));
    await store.save({ controllerUrl: controller.url, hostId: 'h', hostName: 'n', credential: 'revoked', enrolledAt: new Date().toISOString() });
    agent = await bootAgent(config(), silentLogger, new AbortController().signal);
    expect((await store.load())?.credential).toBe(controller.credential);
    expect(controller.calls.filter((call) => call.path === '/agent/v1/enroll')).toHaveLength(1);
  });

  it('waits for a controller that is not up yet, and can be stopped while waiting', async () => {
    const stop = new AbortController();
    const booting = bootAgent({ ...config(), controllerUrl: 'http://127.0.0.1:1' }, silentLogger, stop.signal);
    setTimeout(() => stop.abort(), 300);
    await expect(booting).rejects.toMatchObject({ code: AgentErrorCode.Interrupted });
  });

  it('runs as `berth agent`: logs one line when ready, processes a job, exits 0 on SIGTERM', async () => {
    expect(existsSync(MAIN)).toBe(true);
    await mkdir(join(base, 'src'));
    await writeFile(join(base, 'src/f'), 'from the process');
    const child = spawn(process.execPath, [join(__dirname, '..', '..', '..', 'bin', 'berth.js'), 'agent', '--controller', controller.url, '--state-dir', join(base, 'state')], {
      env: { ...process.env, BERTH_ENROLLMENT_SECRET: 'enroll-secret' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (data: Buffer) => (output += data.toString()));
    child.stderr.on('data', (data: Buffer) => (output += data.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      for (let i = 0; i < 200 && !output.includes('waiting for jobs'); i++) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(output).toMatch(new RegExp(`berth agent for host test-host waiting for jobs on queue ${PREFIX}:${queueName.replace('.', '\\.')}`));
      const queue = new Queue<JobData>(queueName, { connection: { url: REDIS_URL }, prefix: PREFIX });
      const events = new QueueEvents(queueName, { connection: { url: REDIS_URL }, prefix: PREFIX });
      try {
        const runId = randomUUID();
        const job = await queue.add(JobName.Backup, { kind: JobName.Backup, runId, hostId: controller.hostId, paths: [join(base, 'src')], excludes: [] }, { jobId: runId });
        await job.waitUntilFinished(events, 20_000);
        expect(receiver.files.get(join(base, 'src/f'))?.content.toString()).toBe('from the process');
      } finally {
        await events.close();
        await queue.obliterate({ force: true });
        await queue.close();
      }
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(output).toMatch(/SIGTERM received: stopping/);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
