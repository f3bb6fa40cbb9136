/**
 * Run counters and the checkpoint, reported to the controller (POST runProgress) and to BullMQ
 * (job.updateProgress) at most once per interval. Reporting is best effort: a controller that is briefly
 * away costs a log line, never the run; the final state travels in runFinish anyway.
 */
import { type RunCounters } from '@berth/contracts';
import { type RunReporter } from '../controller/controller-client';
import { errorMessage } from '../errors/agent-error';
import { type Logger } from '../util/logger';

export function emptyCounters(): RunCounters {
  return { filesTotal: 0, filesDone: 0, bytesTotal: 0, bytesDone: 0, bytesSent: 0, bytesStored: 0, filesSkipped: 0, fileErrors: 0 };
}

export type JobProgressSink = (progress: { counters: RunCounters; checkpoint: string | null }) => Promise<void>;

export class ProgressReporter {
  readonly counters: RunCounters = emptyCounters();
  checkpoint: string | null = null;
  /** Bytes this attempt sent again (what an earlier attempt had sent); null while unknown. */
  bytesResent: number | null = null;
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> | null = null;
  private changed = false;
  private warned = false;
  /** finish() was called: nothing more is sent, and a late refusal is no news. */
  private finished = false;

  constructor(
    private readonly runId: string,
    private readonly controller: RunReporter,
    private readonly jobProgress: JobProgressSink,
    private readonly log: Logger,
    private readonly intervalMs = 1_000,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
  }

  /** Marks the counters as changed; the next tick reports them. */
  touch(): void {
    this.changed = true;
  }

  /** Stops the timer and sends what changed since the last report (the checkpoint matters most after a failure). */
  async stop(): Promise<void> {
    if (this.timer === null || this.finished) return;
    clearInterval(this.timer);
    this.timer = null;
    await this.inFlight;
    if (this.changed) {
      this.changed = false;
      await this.report();
    }
  }

  /**
   * Stops reporting for good, after a successful attempt: its end report (runFinish) carries the final counters,
   * and the controller sets a published backup's checkpoint to the root. No last report is sent and one in flight
   * is not waited for, so the end reaches the controller one round trip sooner. A report still in flight may then
   * be refused (the run has ended): that is expected and not logged. After a failure, stop() is what is wanted
   * (its checkpoint is where the next attempt resumes).
   */
  finish(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.finished = true;
    this.changed = false;
  }

  /**
   * After finish(): the final counters and checkpoint to BullMQ's job only (the controller gets them in runFinish),
   * so the job shows where the run ended. Best effort: resolves even when the update fails.
   */
  async finishJob(): Promise<void> {
    try {
      await this.jobProgress({ counters: { ...this.counters }, checkpoint: this.checkpoint });
    } catch (error) {
      this.log.warn(`run ${this.runId}: could not record the final progress on the job: ${errorMessage(error)}`);
    }
  }

  /** Reports now what changed, unless a report is in flight (the next tick or stop() sends the rest). */
  reportNow(): void {
    this.tick();
  }

  private tick(): void {
    if (this.finished || !this.changed || this.inFlight !== null) return;
    this.changed = false;
    this.inFlight = this.report().finally(() => (this.inFlight = null));
  }

  private async report(): Promise<void> {
    const counters = { ...this.counters };
    const checkpoint = this.checkpoint;
    const bytesResent = this.bytesResent;
    try {
      await Promise.all([
        this.controller.runProgress(this.runId, { counters, ...(checkpoint === null ? {} : { checkpoint }), ...(bytesResent === null ? {} : { bytesResent }) }),
        this.jobProgress({ counters, checkpoint }),
      ]);
      this.warned = false;
    } catch (error) {
      if (this.finished) return;
      if (!this.warned) this.log.warn(`run ${this.runId}: progress report failed (will keep trying): ${errorMessage(error)}`);
      this.warned = true;
      this.changed = true;
    }
  }
}
