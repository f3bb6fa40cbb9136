/**
 * One attempt of a backup run: tell the controller it started, open a receiver session, walk and send,
 * and report the end (succeeded, partial with per-file errors, or failed with whether BullMQ retries).
 */
import { lstat } from 'node:fs/promises';
import { type BackupJobData, type FileErrorResponse, type RunFinishRequest, type RunCounters } from '@berth/contracts';
import { joinPath, type DoneMessage } from '@berth/wire';
import { AgentError, AgentErrorCode, errorMessage } from '../errors/agent-error';
import { parseBackupJob } from '../jobs/job-data';
import { AGENT_VERSION, type RunDeps } from '../jobs/run-deps';
import { type RunJob } from '../jobs/run-job';
import { reportFailed, reportFinished } from '../jobs/run-lifecycle';
import { RunRecord } from '../jobs/run-record';
import { deferred } from '../util/deferred';
import { displayPath } from '../util/display-path';
import { selectedPaths } from '../walk/selection';
import { TreeWalker, type DirectoryListing, type WalkProblem } from '../walk/tree-walker';
import { WalkAhead } from '../walk/walk-ahead';
import { type WalkFs } from '../walk/walk-fs';
import { BackupTransfer } from './backup-transfer';
import { ResendTracker } from './resend-tracker';

export interface BackupDeps extends RunDeps {
  /** Filesystem calls of the walk (inject a fault in tests); defaults to the real filesystem. */
  readonly walkFs?: WalkFs;
  /** How long the first directory probes are held (see BackupTransfer); tests hold them all with a long one. */
  readonly firstProbeHoldMs?: number;
  /** The latest runStart goes out after the connect (default ATTEMPT_START_LATEST_MS); tests set their own. */
  readonly attemptStartLatestMs?: number;
}

export interface BackupResult {
  readonly status: 'succeeded' | 'partial';
  readonly counters: RunCounters;
  /** Entries that could not be backed up (unreadable, vanished): the run is partial when any. */
  readonly fileErrors: readonly FileErrorResponse[];
  /** Entries left out on purpose (sockets). */
  readonly skipped: readonly FileErrorResponse[];
  readonly snapshot: NonNullable<RunFinishRequest['snapshot']>;
  /** Directories the receiver already had from earlier attempts (resume). */
  readonly resumedDirs: number;
}

/** The latest runStart goes out after the connect, when the receiver has answered neither Welcome nor Wait. */
const ATTEMPT_START_LATEST_MS = 250;
/** Entries the walk may run ahead of the transfer (listings held in memory: about 150 bytes an entry). */
const WALK_AHEAD_ENTRIES = 100_000;

export async function runBackup(job: RunJob<BackupJobData>, deps: BackupDeps): Promise<BackupResult> {
  const { controller, log } = deps;
  const data = parseBackupJob(job.data, deps.hostId);
  const record = new RunRecord(data.runId, job, deps);
  const { signal, progress, counters, clock, fileErrors } = record;
  const recordProblem = (problem: WalkProblem): void => {
    const report = { path: displayPath(problem.path), message: problem.message };
    if (problem.skipped) record.skip(report, false);
    else record.fileError(report);
  };
  const walk = (skipDirs: readonly Buffer[], onProblem: (problem: WalkProblem) => void): AsyncIterable<DirectoryListing> =>
    new TreeWalker({ paths: data.paths, excludes: data.excludes, skipDirs, ...(deps.walkFs === undefined ? {} : { fs: deps.walkFs }), onProblem }).directories();
  // The walk of a first attempt needs nothing from runStart or the receiver: it starts with the session (see WalkAhead).
  // Set on the tick after the session starts (below): a plain annotation would let the compiler take it for null here.
  let ahead = null as WalkAhead | null;
  let ended = false;
  // runStart goes out once the receiver has answered Hello (Welcome, or Wait when all its slots are busy), not with
  // the connect: the controller then answers the receiver's verification of the session first, which is on the way
  // to the first byte, instead of serving both at once (on a stack that had just started, Hello to Welcome took
  // 49-70 ms with runStart sent at the connect, 28-42 ms with it sent after). It goes out ATTEMPT_START_LATEST_MS
  // after the connect at the latest, whatever the receiver does, and in the catch below when the attempt fails
  // before: the controller records every attempt, and learns soon of one a slow receiver holds. Content goes out
  // from Welcome on; the transfer sends Finish only once runStart has answered, so a snapshot is published only for
  // an attempt the controller has recorded; progress reports start then too.
  const tracker = new ResendTracker(deps.sentLedger?.get(data.runId) ?? null, false);
  const attemptStarted = deferred<void>();
  let attemptAsked = false;
  const startAttempt = (): Promise<void> => {
    if (!attemptAsked) {
      attemptAsked = true;
      controller
        .runStart(data.runId)
        .then(({ attempt }) => {
          // A first attempt knows nothing was sent before it; a later one learns how far earlier ones got.
          if (attempt === 1) tracker.knowNoEarlierAttempt();
          log.info(`run ${data.runId}: backup attempt ${attempt} of ${data.paths.join(', ')} started`);
          progress.start();
        })
        .then(
          () => attemptStarted.resolve(),
          (error: unknown) => attemptStarted.reject(error instanceof Error ? error : new Error(String(error))),
        );
    }
    return attemptStarted.promise;
  };
  let startLatest: NodeJS.Timeout | undefined;
  try {
    await requireSomePath(data.paths);
    let resumedDirs = 0;
    clock.enter('connect');
    const connection = await deps.connector.connect(signal);
    startLatest = setTimeout(() => void startAttempt(), deps.attemptStartLatestMs ?? ATTEMPT_START_LATEST_MS);
    clock.enter('admission');
    const transfer = new BackupTransfer(
      connection,
      { hostId: deps.hostId, runId: data.runId, credential: deps.credential, agentVersion: AGENT_VERSION },
      {
        onWait: (position) => {
          void startAttempt();
          log.info(`run ${data.runId}: all receiver slots busy, waiting (position ${position})`);
        },
        onWelcome: (welcome) => {
          void startAttempt();
          clock.enter('transfer');
          resumedDirs = welcome.committedDirs.length;
          if (resumedDirs > 0) log.info(`run ${data.runId}: resuming; ${resumedDirs} directories already stored by earlier attempts`);
        },
        onChunkSent: (files, bytes) => {
          counters.filesTotal += files;
          counters.bytesTotal += bytes;
          progress.touch();
        },
        onDirectoryReused: (files, bytes) => {
          counters.filesTotal += files;
          counters.bytesTotal += bytes;
          counters.filesDone += files;
          counters.bytesDone += bytes;
          progress.touch();
        },
        onFileDone: (dir, name, size, error) => {
          counters.filesDone += 1;
          counters.bytesDone += Number(size);
          if (error !== null) record.fileError({ path: displayPath(joinPath(dir, name)), message: error });
          progress.touch();
        },
        onFilesUnchanged: (files, bytes) => {
          counters.filesDone += files;
          counters.bytesDone += bytes;
          progress.touch();
        },
        onBytesSent: (bytes) => {
          counters.bytesSent += bytes;
          progress.bytesResent = tracker.bytesResent;
          progress.touch();
        },
        onCommitted: (dir, dirComplete, lastEntry) => {
          // The resume point: a whole directory, or the last entry of a committed chunk of one.
          progress.checkpoint = displayPath(dirComplete || lastEntry === null ? dir : joinPath(dir, lastEntry));
          // No report when "/" is committed: runFinish follows at once with the final counters (the controller sets a
          // published backup's checkpoint itself), and a report now would only compete with it for the agent's and
          // the controller's time; after a failure, stop() still sends the last checkpoint.
          progress.touch();
        },
      },
      signal,
      tracker,
      deps.firstProbeHoldMs,
    );
    const walker = (skipDirs: readonly Buffer[]): AsyncIterable<DirectoryListing> => {
      if (ahead === null) return walk(skipDirs, recordProblem);
      if (skipDirs.length === 0) return ahead.take(recordProblem);
      ahead.stop();
      return walk(skipDirs, recordProblem);
    };
    const session = transfer.run(walker, attemptStarted.promise);
    // The walk starts once the connect is done and Hello written (run() queued it, to be written on the next tick;
    // this tick comes after): the receiver's verification of the session, the longest wait before the first byte,
    // starts with Hello, and the walk's first steps (on a freshly started agent its code compiled, the first
    // directories read and hashed: about 4 ms) overlap that wait instead of holding back the connect or Hello.
    // Welcome, before which the walk is not asked for, is a round trip away, and the session's end comes later.
    process.nextTick(() => {
      if (!ended) ahead = new WalkAhead((onProblem) => walk([], onProblem), WALK_AHEAD_ENTRIES);
    });
    const done = await session;
    deps.sentLedger?.forget(data.runId);
    progress.bytesResent = tracker.bytesResent;
    // runFinish carries the final counters (and a published backup's checkpoint is the root, which the controller
    // sets on its own): no last progress report goes before it.
    progress.finish();
    counters.bytesStored = done.stats.bytesStored;
    // Alongside runFinish, not before it (Redis, not the controller).
    const jobFinished = progress.finishJob();
    const result: BackupResult = {
      status: record.status,
      counters: { ...counters },
      fileErrors,
      skipped: record.skipped,
      snapshot: snapshotOf(done),
      resumedDirs,
    };
    await reportFinished(
      controller,
      data.runId,
      {
        status: result.status,
        counters: result.counters,
        snapshot: result.snapshot,
        phases: clock.phases(),
        ...(fileErrors.length > 0 ? { fileErrors } : {}),
        ...(tracker.bytesResent === null ? {} : { bytesResent: tracker.bytesResent }),
      },
      log,
    );
    await jobFinished;
    log.info(summary(data.runId, result, record.elapsedSeconds()));
    return result;
  } catch (error) {
    // The failure is reported once the controller has answered runStart (a report before would be refused).
    await startAttempt().catch(() => undefined);
    // Content goes out from Welcome on, before runStart may have answered: how far it got counts either way.
    deps.sentLedger?.note(data.runId, tracker.furthest);
    progress.bytesResent = tracker.bytesResent;
    await progress.stop();
    const bytesResent = tracker.bytesResent;
    const failed = await reportFailed(controller, data.runId, error, job.retriesLeft, { counters: { ...counters }, fileErrors, bytesResent, phases: clock.phases() }, log, signal);
    log.error(`run ${data.runId}: backup failed${failed.willRetry ? ' (will retry)' : ''}: ${failed.error.message}`);
    throw failed.error;
  } finally {
    ended = true;
    clearTimeout(startLatest);
    ahead?.stop();
  }
}

/** A run whose every configured path is missing is a configuration problem, not a flaky one. */
async function requireSomePath(paths: readonly string[]): Promise<void> {
  const problems: string[] = [];
  for (const path of selectedPaths(paths)) {
    try {
      await lstat(path);
      return;
    } catch (error) {
      problems.push(`${displayPath(path)}: ${errorMessage(error)}`);
    }
  }
  throw new AgentError(AgentErrorCode.NothingToBackUp, `none of the configured paths can be backed up (${problems.join('; ')})`);
}

function snapshotOf(done: DoneMessage): BackupResult['snapshot'] {
  return {
    id: done.snapshotId,
    rootTree: done.rootTree,
    publishedAt: done.publishedAt,
    stats: { files: done.stats.files, dirs: done.stats.dirs, bytes: done.stats.bytes, bytesSent: done.stats.bytesReceived, bytesStored: done.stats.bytesStored },
  };
}

function summary(runId: string, result: BackupResult, seconds: number): string {
  const { counters } = result;
  const outcome = result.status === 'partial' ? `partial (${result.fileErrors.length} file errors)` : 'succeeded';
  return (
    `run ${runId}: backup ${outcome}: snapshot ${result.snapshot.id}, ${counters.filesDone} files, ${counters.bytesDone} bytes, ` +
    `${counters.bytesSent} sent, ${counters.bytesStored} stored, ${seconds.toFixed(1)} s (${(counters.bytesSent / seconds / 1e6).toFixed(1)} MB/s sent)` +
    (result.skipped.length > 0 ? `, ${result.skipped.length} skipped (sockets)` : '')
  );
}
