/**
 * The bookkeeping every run attempt keeps, backup or restore alike: its counters and the progress reports made of
 * them, the entries it could not handle (errors: the run ends partial) or left out on purpose (skipped), its phases,
 * when it started, and the signal that stops it.
 */
import { type FileErrorResponse, type RunCounters } from '@berth/contracts';
import { PhaseClock } from '../progress/phase-clock';
import { ProgressReporter } from '../progress/progress-reporter';
import { type Logger } from '../util/logger';
import { type RunDeps } from './run-deps';
import { type RunJob } from './run-job';

export class RunRecord {
  readonly signal: AbortSignal;
  readonly progress: ProgressReporter;
  readonly counters: RunCounters;
  readonly fileErrors: FileErrorResponse[] = [];
  readonly skipped: FileErrorResponse[] = [];
  /** Starts in the 'prepare' phase. */
  readonly clock = new PhaseClock();
  private readonly started = Date.now();
  private readonly log: Logger;

  constructor(
    readonly runId: string,
    job: RunJob<unknown>,
    deps: RunDeps,
  ) {
    this.signal = deps.signal ?? new AbortController().signal;
    this.log = deps.log;
    this.progress = new ProgressReporter(runId, deps.controller, (state) => job.updateProgress(state), deps.log, deps.progressIntervalMs);
    this.counters = this.progress.counters;
    this.clock.enter('prepare');
  }

  /** Partial once any entry could not be handled. */
  get status(): 'succeeded' | 'partial' {
    return this.fileErrors.length > 0 ? 'partial' : 'succeeded';
  }

  /** An entry that could not be backed up or restored: counted, kept for the report, logged as a warning. */
  fileError(report: FileErrorResponse): void {
    this.counters.fileErrors += 1;
    this.fileErrors.push(report);
    this.log.warn(`run ${this.runId}: ${report.path}: ${report.message}`);
  }

  /** An entry left out on purpose (a socket, a device node without root): counted and kept; logged when `logged`. */
  skip(report: FileErrorResponse, logged: boolean): void {
    this.counters.filesSkipped += 1;
    this.skipped.push(report);
    if (logged) this.log.info(`run ${this.runId}: ${report.path}: ${report.message}`);
  }

  /** Seconds since the record was made (at least a millisecond, for rates). */
  elapsedSeconds(): number {
    return Math.max(Date.now() - this.started, 1) / 1000;
  }
}
