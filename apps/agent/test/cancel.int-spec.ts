import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, QueueEvents } from 'bullmq';
import { JobName, type BackupJobData, type JobData } from '@berth/contracts';
import { HttpControllerClient } from '../src/controller/controller-client';
import { silentLogger } from '../src/util/logger';
import { AgentWorker, type RunJobResult } from '../src/worker/agent-worker';
import { Heartbeat } from '../src/worker/heartbeat';
import { RecordingController } from './recording-controller';
import { ScriptedReceiver } from './scripted-receiver';

jest.setTimeout(30_000);

const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const PREFIX = 'berth-agent-test';
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// The agent's side of a cancel on real Redis and sockets: the controller's word arrives in a heartbeat answer or a
// progress answer, the attempt stops, the run is reported canceled and BullMQ fails the job without a retry.
describe('agent: cancel of a running job', () => {
  let base: string;
  let controller: RecordingController;
  let receiver: ScriptedReceiver;
  let queueName: string;
  let queue: Queue<JobData, RunJobResult>;
  let events: QueueEvents;
  let worker: AgentWorker;
  let heartbeat: Heartbeat;

  beforeEach(async () => {
    base = mkdtempSync(join(tmpdir(), 'berth-cancel-'));
    await mkdir(join(base, 'src'));
    for (let i = 0; i < 20; i++) await writeFile(join(base, 'src', `file-${i}`), `content ${i}`);
    controller = await new RecordingController({ config: { queueName: 'unused', queuePrefix: PREFIX, redisUrl: REDIS_URL, redisUsername: null, receiver: { host: '127.0.0.1', port: 1, tls: false, caPem: null, serverName: null }, heartbeatMs: 100 } }).start();
    receiver = await new ScriptedReceiver().start();
    queueName = `host.test-${randomUUID()}`;
    queue = new Queue(queueName, { connection: { url: REDIS_URL }, prefix: PREFIX });
    events = new QueueEvents(queueName, { connection: { url: REDIS_URL }, prefix: PREFIX });
    await events.waitUntilReady();
    const client = new HttpControllerClient(controller.url, controller.credential);
    worker = new AgentWorker({
      queueName,
      queuePrefix: PREFIX,
      redisUrl: REDIS_URL,
      concurrency: 1,
      lockDurationMs: 5_000,
      deps: { controller: client, connector: receiver, hostId: controller.hostId, credential: controller.credential, log: silentLogger, progressIntervalMs: 100 },
    });
    heartbeat = new Heartbeat(client, worker, 100, silentLogger);
    heartbeat.start();
  });
  afterEach(async () => {
    await heartbeat.stop();
    await worker.close();
    await events.close();
    await queue.obliterate({ force: true });
    await queue.close();
    await receiver.stop();
    await controller.stop();
    await rm(base, { recursive: true, force: true });
  });

  const backup = (runId: string): BackupJobData => ({ kind: JobName.Backup, runId, hostId: controller.hostId, paths: [join(base, 'src')], excludes: [] });

  async function untilHello(): Promise<void> {
    for (let i = 0; i < 200 && receiver.hellos.length === 0; i++) await sleep(25);
    expect(receiver.hellos).toHaveLength(1);
  }

  it('stops a run waiting in the receiver line when a heartbeat answer names it, and BullMQ does not retry it', async () => {
    receiver.script = { waits: 100, waitMs: 50 };
    const runId = randomUUID();
    const job = await queue.add(JobName.Backup, backup(runId), { jobId: runId, attempts: 3, backoff: { type: 'fixed', delay: 100 } });
    await untilHello();
    // Heartbeats name the run the worker holds.
    const named = (): boolean => controller.calls.some((call) => call.path === '/agent/v1/heartbeat' && (call.body as { runIds: string[] }).runIds.includes(runId));
    for (let i = 0; i < 40 && !named(); i++) await sleep(25);
    expect(named()).toBe(true);

    const asked = Date.now();
    controller.canceled.add(runId);
    const failure = await job.waitUntilFinished(events, 10_000).catch((error: unknown) => error);
    const stoppedWithinMs = Date.now() - asked;
    expect((failure as Error).message).toBe('canceled: canceled at the request of an operator');
    expect(stoppedWithinMs).toBeLessThan(3_000);
    const stored = await queue.getJob(runId);
    expect(await stored?.getState()).toBe('failed');
    expect(stored?.attemptsMade).toBe(1);
    expect(controller.finishes(runId)).toEqual([expect.objectContaining({ status: 'canceled', error: 'canceled: canceled at the request of an operator' })]);
    expect(controller.finishes(runId)[0]?.willRetry).toBeUndefined();
    // One session only: the job was not run again.
    await sleep(500);
    expect(receiver.hellos).toHaveLength(1);
  });

  it('stops a transferring run when a progress answer says it was canceled', async () => {
    receiver.script = { commitDelayMs: 800, chunkMaxEntries: 2 };
    const runId = randomUUID();
    controller.canceled.add(runId);
    // Heartbeats would tell too: stop them, so only the progress answer can.
    await heartbeat.stop();
    const job = await queue.add(JobName.Backup, backup(runId), { jobId: runId, attempts: 3 });
    const failure = await job.waitUntilFinished(events, 10_000).catch((error: unknown) => error);
    expect((failure as Error).message).toBe('canceled: canceled at the request of an operator');
    expect(controller.progress(runId).length).toBeGreaterThan(0);
    expect(controller.finishes(runId)).toEqual([expect.objectContaining({ status: 'canceled' })]);
    expect((await queue.getJob(runId))?.attemptsMade).toBe(1);
  });
});
