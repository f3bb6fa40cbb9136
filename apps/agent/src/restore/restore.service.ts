/**
 * One attempt of a restore run: tell the controller it started, prepare the target directory, receive
 * the snapshot (or a sub-path of it) from the receiver and write it with all metadata, report the end.
 */
import { type FileErrorResponse, type RestoreJobData, type RunCounters } from '@berth/contracts';
import { EntryType } from '@berth/wire';
import { parseRestoreJob } from '../jobs/job-data';
import { AGENT_VERSION, type RunDeps } from '../jobs/run-deps';
import { type RunJob } from '../jobs/run-job';
import { reportFailed, reportFinished } from '../jobs/run-lifecycle';
import { RunRecord } from '../jobs/run-record';
import { displayPath } from '../util/display-path';
import { runRestoreSession } from './restore-session';
import { prepareTarget, removeMarker } from './restore-target';
import { RestoreWriter } from './restore-writer';

export interface RestoreDeps extends RunDeps {
  /** Restore owners as root would (default: whether this process is root). */
  readonly asRoot?: boolean;
}

export interface RestoreResult {
  readonly status: 'succeeded' | 'partial';
  readonly target: string;
  readonly counters: RunCounters;
  readonly fileErrors: readonly FileErrorResponse[];
  readonly skipped: readonly FileErrorResponse[];
}

export async function runRestore(job: RunJob<RestoreJobData>, deps: RestoreDeps): Promise<RestoreResult> {
  const { controller, log } = deps;
  const data = parseRestoreJob(job.data, deps.hostId);
  const record = new RunRecord(data.runId, job, deps);
  const { signal, progress, counters, clock, fileErrors, skipped } = record;
  try {
    const { attempt } = await controller.runStart(data.runId);
    const target = await prepareTarget(data.targetDir, data.runId);
    log.info(`run ${data.runId}: restore attempt ${attempt} of snapshot ${data.snapshotId}${data.subPath === null ? '' : ` (${data.subPath})`} into ${target} started`);
    progress.start();
    const writer = new RestoreWriter({
      target,
      ...(deps.asRoot === undefined ? {} : { asRoot: deps.asRoot }),
      onProblem: (problem) => {
        const report = { path: `/${displayPath(problem.path)}`, message: problem.message };
        if (problem.skipped) record.skip(report, true);
        else record.fileError(report);
        progress.touch();
      },
      onEntryDone: (entry, bytes) => {
        if (entry.type === EntryType.Dir) return;
        counters.filesDone += 1;
        counters.filesTotal += 1;
        counters.bytesDone += bytes;
        counters.bytesTotal += bytes;
        progress.touch();
      },
    });
    clock.enter('connect');
    const connection = await deps.connector.connect(signal);
    clock.enter('admission');
    await runRestoreSession(
      connection,
      { hostId: deps.hostId, runId: data.runId, credential: deps.credential, agentVersion: AGENT_VERSION },
      { snapshotId: data.snapshotId, subPath: Buffer.from(data.subPath ?? '', 'utf8') },
      writer,
      {
        onWait: (position) => log.info(`run ${data.runId}: all receiver slots busy, waiting (position ${position})`),
        onWelcome: () => clock.enter('restore'),
        onBytesReceived: (bytes) => {
          counters.bytesSent += bytes;
          progress.touch();
        },
      },
      signal,
    );
    await removeMarker(target, data.runId);
    await progress.stop();
    const result: RestoreResult = { status: record.status, target, counters: { ...counters }, fileErrors, skipped };
    await reportFinished(controller, data.runId, { status: result.status, counters: result.counters, phases: clock.phases(), ...(fileErrors.length > 0 ? { fileErrors } : {}) }, log);
    const seconds = record.elapsedSeconds();
    log.info(
      `run ${data.runId}: restore ${result.status === 'partial' ? `partial (${fileErrors.length} file errors)` : 'succeeded'}: ` +
        `${counters.filesDone} files, ${counters.bytesDone} bytes into ${target}, ${seconds.toFixed(1)} s` +
        (skipped.length > 0 ? `, ${skipped.length} skipped` : ''),
    );
    return result;
  } catch (error) {
    await progress.stop();
    const failed = await reportFailed(controller, data.runId, error, job.retriesLeft, { counters: { ...counters }, fileErrors, phases: clock.phases() }, log, signal);
    log.error(`run ${data.runId}: restore failed${failed.willRetry ? ' (will retry)' : ''}: ${failed.error.message}`);
    throw failed.error;
  }
}
