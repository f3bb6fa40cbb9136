/**
 * The BullMQ worker on this host's queue. The processor is thin: it validates the payload and hands the
 * job to the backup or restore service, then translates the outcome for BullMQ:
 * - retryable failures are rethrown (BullMQ retries with backoff; the next attempt resumes);
 * - failures no retry can fix become UnrecoverableError;
 * - an attempt interrupted by shutdown goes back to the queue (moveToDelayed + DelayedError), without
 *   using up an attempt;
 * - a run an operator canceled (cancelRun, called on the controller's word in a heartbeat or progress answer)
 *   stops: its run's signal is aborted, the run is reported canceled and the job ends with UnrecoverableError,
 *   so BullMQ does not retry it. The receiver keeps what was committed, for an operator's retry.
 */
import { DelayedError, UnrecoverableError, type Worker, type Job } from 'bullmq';
import IORedis from 'ioredis';
import { JobName, RUN_WORKER_DEFAULTS, type JobData, type RunCounters } from '@berth/contracts';
import { runBackup } from '../backup/backup.service';
import { AgentError, AgentErrorCode, errorMessage, toAgentError } from '../errors/agent-error';
import { parseBackupJob, parseRestoreJob } from '../jobs/job-data';
import { type RunReporter } from '../controller/controller-client';
import { type RunDeps } from '../jobs/run-deps';
import { type RunJob } from '../jobs/run-job';
import { ClosableWorker, REDIS_DISCONNECT_TIMEOUT_MS } from '@berth/queueing';
import { runRestore } from '../restore/restore.service';

export interface AgentWorkerOptions {
  readonly queueName: string;
  readonly queuePrefix: string;
  readonly redisUrl: string;
  /**
   * The agent's own Redis ACL user (it may touch only its host queue's keys); it logs in with its credential as
   * password. Null: redisUrl as it is (a Redis without per-agent users).
   */
  readonly redisUsername?: string | null;
  /** Redis refused the login (WRONGPASS): the credential may have been revoked. Called at most once per worker. */
  readonly onLoginRefused?: (message: string) => void;
  readonly concurrency: number;
  /** Everything the run services need except the abort signal, which comes per job. */
  readonly deps: Omit<RunDeps, 'signal'>;
  /**
   * How long a job's lock lasts without renewal (renewed every half of it). Generous, so a briefly busy
   * event loop cannot lose the lock; a dead agent's job is picked up again after about this long.
   */
  readonly lockDurationMs?: number;
}

/** What a completed job returns (kept small: it is stored in Redis). */
export interface RunJobResult {
  readonly status: 'succeeded' | 'partial';
  readonly counters: RunCounters;
  readonly snapshotId: string | null;
}

/** A job interrupted by shutdown is offered again after this delay. */
const REQUEUE_DELAY_MS = 1_000;

export class AgentWorker {
  readonly worker: Worker<JobData, RunJobResult>;
  private readonly connection: IORedis;
  /** Per run being processed: aborts its signal with a Canceled error when an operator cancels it. */
  private readonly cancels = new Map<string, AbortController>();

  constructor(private readonly options: AgentWorkerOptions) {
    const login = options.redisUsername === null || options.redisUsername === undefined ? {} : { username: options.redisUsername, password: options.deps.credential };
    this.connection = new IORedis(options.redisUrl, { maxRetriesPerRequest: null, disconnectTimeout: REDIS_DISCONNECT_TIMEOUT_MS, ...login });
    let loginRefused = false;
    this.connection.on('error', (error: Error) => {
      options.deps.log.warn(`redis: ${error.message}`);
      if (!loginRefused && /WRONGPASS|NOAUTH/.test(error.message)) {
        loginRefused = true;
        options.onLoginRefused?.(error.message);
      }
    });
    // A refusal while Redis restarts (before the controller wrote the users again) is asked about once per outage.
    this.connection.on('ready', () => (loginRefused = false));
    this.worker = new ClosableWorker<JobData, RunJobResult>(options.queueName, (job, token, signal) => this.process(job, token, signal), {
      connection: this.connection,
      prefix: options.queuePrefix,
      concurrency: options.concurrency,
      lockDuration: options.lockDurationMs ?? RUN_WORKER_DEFAULTS.lockDurationMs,
      // A killed agent's job is put back to waiting within about lockDuration + 2 x stalledInterval once this
      // host's agent runs again (see RUN_WORKER_DEFAULTS).
      stalledInterval: RUN_WORKER_DEFAULTS.stalledIntervalMs,
      maxStalledCount: RUN_WORKER_DEFAULTS.maxStalledCount,
      autorun: true,
    });
    this.worker.on('error', (error) => options.deps.log.error(`worker: ${errorMessage(error)}`));
  }

  waitUntilReady(): Promise<unknown> {
    return this.worker.waitUntilReady();
  }

  /** Runs whose jobs this worker is processing now. */
  heldRunIds(): string[] {
    return [...this.cancels.keys()];
  }

  /**
   * Stops the run an operator canceled, if this worker is processing it: its attempt ends within moments (the
   * receiver session is closed, waiting in the receiver's line included) and the run is reported canceled.
   * False when this worker does not hold the run.
   */
  cancelRun(runId: string): boolean {
    const cancel = this.cancels.get(runId);
    if (cancel === undefined) return false;
    if (!cancel.signal.aborted) {
      this.options.deps.log.warn(`run ${runId}: canceled by the controller (an operator asked); stopping`);
      cancel.abort(new AgentError(AgentErrorCode.Canceled, 'canceled at the request of an operator'));
    }
    return true;
  }

  /**
   * Stops without waiting on Redis (which refuses this agent): running jobs are aborted, the connection dropped.
   * Their jobs were failed by the controller when it revoked the credential.
   */
  async closeNow(): Promise<void> {
    this.worker.cancelAllJobs('the agent is stopping: its credential was refused');
    this.connection.disconnect();
    await this.worker.close(true).catch(() => undefined);
  }

  /** Interrupts running jobs (they go back to the queue), waits for them to let go, closes Redis. */
  async close(): Promise<void> {
    this.worker.cancelAllJobs('the agent is stopping');
    await this.worker.close();
    await this.connection.quit().catch(() => this.connection.disconnect());
  }

  private async process(job: Job<JobData, RunJobResult>, token: string | undefined, signal: AbortSignal | undefined): Promise<RunJobResult> {
    const { deps } = this.options;
    const retriesLeft = job.attemptsMade + 1 < (job.opts.attempts ?? 1);
    const updateProgress: RunJob<unknown>['updateProgress'] = (progress) => job.updateProgress(progress);
    const data = await this.validJobData(job);
    const cancel = new AbortController();
    this.cancels.set(data.runId, cancel);
    const runDeps: RunDeps = {
      ...deps,
      controller: this.cancelAware(deps.controller),
      signal: signal === undefined ? cancel.signal : AbortSignal.any([signal, cancel.signal]),
    };
    try {
      if (data.kind === JobName.Backup) {
        const result = await runBackup({ data, retriesLeft, updateProgress }, runDeps);
        return { status: result.status, counters: result.counters, snapshotId: result.snapshot.id };
      }
      const result = await runRestore({ data, retriesLeft, updateProgress }, runDeps);
      return { status: result.status, counters: result.counters, snapshotId: null };
    } catch (caught) {
      const error = toAgentError(caught);
      if (error.code === AgentErrorCode.Interrupted && token !== undefined) {
        await job.moveToDelayed(Date.now() + REQUEUE_DELAY_MS, token);
        throw new DelayedError(error.message);
      }
      if (!error.retryable) throw new UnrecoverableError(`${error.code}: ${error.message}`);
      throw error;
    } finally {
      this.cancels.delete(data.runId);
    }
  }

  /** The reporter the run services use, acting on the cancel request a progress answer may carry. */
  private cancelAware(controller: RunReporter): RunReporter {
    return {
      runStart: (runId) => controller.runStart(runId),
      runProgress: async (runId, request) => {
        const answer = await controller.runProgress(runId, request);
        if (answer.cancelRequested) this.cancelRun(runId);
        return answer;
      },
      runFinish: (runId, request) => controller.runFinish(runId, request),
    };
  }

  /** A payload no attempt can process fails the run at once (the job id is the run id). */
  private async validJobData(job: Job<JobData, RunJobResult>): Promise<JobData> {
    const { hostId, controller, log } = this.options.deps;
    try {
      if (job.name === JobName.Backup) return parseBackupJob(job.data, hostId);
      if (job.name === JobName.Restore) return parseRestoreJob(job.data, hostId);
      throw new AgentError(AgentErrorCode.BadJob, `unknown job name "${job.name}" (expected "${JobName.Backup}" or "${JobName.Restore}")`);
    } catch (caught) {
      const error = toAgentError(caught);
      log.error(`job ${job.id ?? '?'}: ${error.message}`);
      if (job.id !== undefined) {
        await controller
          .runFinish(job.id, { status: 'failed', counters: {}, error: `${error.code}: ${error.message}`, willRetry: false })
          .catch((reportError: unknown) => log.warn(`job ${job.id ?? '?'}: could not report the bad job: ${errorMessage(reportError)}`));
      }
      throw new UnrecoverableError(`${error.code}: ${error.message}`);
    }
  }
}
