import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, QueueEvents } from 'bullmq';
import { JobName, type BackupJobData, type JobData } from '@berth/contracts';
import { ErrorCode } from '@berth/wire';
import { HttpControllerClient } from '../src/controller/controller-client';
import { silentLogger } from '../src/util/logger';
import { AgentWorker, type RunJobResult } from '../src/worker/agent-worker';
import { RecordingController } from './recording-controller';
import { ScriptedReceiver } from './scripted-receiver';

jest.setTimeout(30_000);

const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const PREFIX = 'berth-agent-test';

describe('AgentWorker on real Redis', () => {
  let base: string;
  let controller: RecordingController;
  let receiver: ScriptedReceiver;
  let queueName: string;
  let queue: Queue<JobData, RunJobResult>;
  let events: QueueEvents;
  let worker: AgentWorker | null;

  beforeEach(async () => {
    base = mkdtempSync(join(tmpdir(), 'berth-worker-'));
    await mkdir(join(base, 'src'));
    await writeFile(join(base, 'src/file'), 'content');
    controller = await new RecordingController().start();
    receiver = await new ScriptedReceiver().start();
    queueName = `host.test-${randomUUID()}`;
    queue = new Queue(queueName, { connection: { url: REDIS_URL }, prefix: PREFIX });
    events = new QueueEvents(queueName, { connection: { url: REDIS_URL }, prefix: PREFIX });
    await events.waitUntilReady();
    worker = null;
  });
  afterEach(async () => {
    await worker?.close();
    await events.close();
    await queue.obliterate({ force: true });
    await queue.close();
    await receiver.stop();
    await controller.stop();
    await rm(base, { recursive: true, force: true });
  });

  const startWorker = (): AgentWorker =>
    new AgentWorker({
      queueName,
      queuePrefix: PREFIX,
      redisUrl: REDIS_URL,
      concurrency: 1,
      lockDurationMs: 5_000,
      deps: {
        controller: new HttpControllerClient(controller.url, controller.credential),
        connector: receiver,
        hostId: controller.hostId,
        credential: controller.credential,
        log: silentLogger,
      },
    });
  const backup = (runId: string, hostId = controller.hostId): BackupJobData => ({ kind: JobName.Backup, runId, hostId, paths: [join(base, 'src')], excludes: [] });

  it('takes a job from its queue, runs it, and completes it with the snapshot', async () => {
    worker = startWorker();
    const runId = randomUUID();
    const job = await queue.add(JobName.Backup, backup(runId), { jobId: runId, attempts: 3 });
    const result = (await job.waitUntilFinished(events, 20_000));
    expect(result).toMatchObject({ status: 'succeeded', snapshotId: '00000000-0000-4000-8000-000000000001', counters: { filesDone: 1, bytesSent: 7 } });
    expect(receiver.files.get(join(base, 'src/file'))?.content.toString()).toBe('content');
    expect(controller.finishes(runId)).toEqual([expect.objectContaining({ status: 'succeeded' })]);
    const progress = (await queue.getJob(runId))?.progress as { counters?: { filesDone?: number } } | undefined;
    expect(progress?.counters?.filesDone).toBe(1);
  });

  it('retries a failed attempt with backoff, and the next attempt completes', async () => {
    receiver.scriptForSession = (session) => (session === 1 ? { failAfterChunks: { count: 1, code: ErrorCode.Internal, message: 'flaky disk' } } : {});
    worker = startWorker();
    const runId = randomUUID();
    const job = await queue.add(JobName.Backup, backup(runId), { jobId: runId, attempts: 3, backoff: { type: 'fixed', delay: 100 } });
    await job.waitUntilFinished(events, 20_000);
    expect(receiver.hellos).toHaveLength(2);
    const finishes = controller.finishes(runId);
    expect(finishes.map((finish) => [finish.status, finish.willRetry])).toEqual([
      ['failed', true],
      ['succeeded', undefined],
    ]);
    // BullMQ counts both attempts once the job has completed.
    expect((await queue.getJob(runId))?.attemptsMade).toBe(2);
  });

  it('fails a job for another host at once, without retries', async () => {
    worker = startWorker();
    const runId = randomUUID();
    const job = await queue.add(JobName.Backup, backup(runId, 'some-other-host'), { jobId: runId, attempts: 3 });
    const failure = await job.waitUntilFinished(events, 20_000).catch((error: unknown) => error);
    expect((failure as Error).message).toMatch(/job is for host some-other-host/);
    const stored = await queue.getJob(runId);
    expect(await stored?.getState()).toBe('failed');
    expect(stored?.attemptsMade).toBe(1);
    expect(controller.finishes(runId)).toEqual([expect.objectContaining({ status: 'failed', willRetry: false })]);
    expect(receiver.hellos).toHaveLength(0);
  });

  it('on close, interrupts the running job and puts it back in the queue without using up an attempt', async () => {
    receiver.script = { silent: true };
    worker = startWorker();
    const runId = randomUUID();
    await queue.add(JobName.Backup, backup(runId), { jobId: runId, attempts: 3 });
    for (let i = 0; i < 100 && receiver.hellos.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(receiver.hellos).toHaveLength(1);
    const closing = worker.close();
    worker = null;
    await closing;
    const stored = await queue.getJob(runId);
    expect(['delayed', 'wait']).toContain(await stored?.getState());
    expect(stored?.attemptsMade).toBe(0);
    expect(controller.finishes(runId)).toEqual([expect.objectContaining({ status: 'failed', willRetry: true })]);

    // Another agent process picks it up again and finishes it.
    receiver.script = {};
    worker = startWorker();
    const result = (await stored!.waitUntilFinished(events, 20_000));
    expect(result.status).toBe('succeeded');
  });
});
