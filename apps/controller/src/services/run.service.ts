import { Injectable, Logger } from '@nestjs/common';
import { type BackupJobData, type FileErrorPage, JobName, type JobData, type RunResponse } from '@berth/contracts';
import { FILE_ERRORS_PAGE_DEFAULT, type FileErrorQueryDto, mapFileErrorRow, mapRun, RUN_FILE_ERRORS_SHOWN, RUN_LIST_LIMIT_DEFAULT, type RunQueryDto } from '../dtos/run.dto';
import { DomainError } from '../errors/domain.error';
import { ErrorCode } from '../errors/error-code';
import { QueueRepository, QueueUnavailableError, type RunJob } from '../repositories/queue.repository';
import { type RunRecord, RunRepository } from '../repositories/run.repository';
import { effectiveSettings, type HostSettingsSource } from './effective-settings.util';
import { HostService, hostNotFound } from './host.service';
import { findRunOrThrow } from './run-lookup.util';

/** A host to back up, not before `notBefore` (its place in a schedule's spread). */
export interface BackupStart {
  host: { id: string } & HostSettingsSource;
  notBefore: Date | null;
}

/** What startBackups did, by host id. Hosts deleted meanwhile are in none of the lists. */
export interface BackupStarts {
  queued: string[];
  /** A backup was already queued or running: nothing new. */
  active: string[];
  /** Neither the host nor its group has paths: nothing started. */
  noPaths: string[];
  /** Redis did not take the job: the run was created and ended as failed. */
  unqueued: string[];
}

@Injectable()
export class RunService {
  private readonly logger = new Logger('RunService');

  constructor(
    private readonly runs: RunRepository,
    private readonly queues: QueueRepository,
    private readonly hostService: HostService,
  ) {}

  /**
   * Queues a backup of a host; refuses while another backup of it is queued or running, and for a paused host
   * (or a host of a paused group) unless forced. The job (job id = run id, the host's effective paths and excludes)
   * is added as soon as the run is committed.
   */
  async triggerBackup(idOrName: string, options: { force?: boolean } = {}): Promise<RunResponse> {
    const host = await this.hostService.findBackupSourceOrThrow(idOrName);
    // Schedules decide nothing here.
    const settings = effectiveSettings({ ...host, schedule: null, group: host.group === null ? null : { ...host.group, schedule: null } });
    if (options.force !== true && settings.paused) {
      throw new DomainError(ErrorCode.HostPaused, `Host "${host.name}" is paused${host.pausedAt === null ? ' (its group is)' : ''}; unpause it, or add ?force=true to back it up anyway`);
    }
    if (settings.paths.length === 0) {
      throw new DomainError(ErrorCode.HostHasNoPaths, `Host "${host.name}" has no paths to back up: give it paths, or put it in a group that has some`);
    }
    const result = await this.runs.createBackupRunUnlessActive(host.id);
    // The host was deleted since it was read.
    if (result === null) throw hostNotFound(idOrName);
    if ('active' in result) {
      throw new DomainError(ErrorCode.RunInProgress, `Host "${host.name}" already has backup run ${result.active.id} ${result.active.status}`);
    }
    const run = result.created;
    const job: BackupJobData = { kind: JobName.Backup, runId: run.id, hostId: host.id, paths: settings.paths, excludes: settings.excludes };
    await this.enqueue(run.id, job);
    return mapRun(run);
  }

  /**
   * The backups of a schedule tick, for many hosts at once (the tick leaves paused hosts out): the runs are created
   * in one transaction and their jobs added in a few round trips, so a tick over a thousand hosts costs a handful of
   * statements and Redis calls, not several per host. Same rules: one active backup per host, job id = run id,
   * effective paths and excludes.
   */
  async startBackups(starts: readonly BackupStart[]): Promise<BackupStarts> {
    const outcome: BackupStarts = { queued: [], active: [], noPaths: [], unqueued: [] };
    const jobs = new Map<string, Omit<BackupJobData, 'runId'> & { notBefore: Date | null }>();
    for (const { host, notBefore } of starts) {
      const { paths, excludes } = effectiveSettings(host);
      if (paths.length === 0) outcome.noPaths.push(host.id);
      else jobs.set(host.id, { kind: JobName.Backup, hostId: host.id, paths, excludes, notBefore });
    }
    const { created, active } = await this.runs.createBackupRunsUnlessActive([...jobs.keys()]);
    outcome.active.push(...active.map((run) => run.hostId));
    const runJobs: RunJob[] = [];
    for (const run of created) {
      const job = jobs.get(run.hostId);
      if (job === undefined) continue;
      const { notBefore, ...data } = job;
      runJobs.push({ data: { ...data, runId: run.id }, notBefore });
    }
    const failed = await this.queues.addRunJobs(runJobs);
    for (const run of created) (failed.has(run.id) ? outcome.unqueued : outcome.queued).push(run.hostId);
    const byReason = new Map<string, string[]>();
    for (const [runId, reason] of failed) byReason.set(reason, [...(byReason.get(reason) ?? []), runId]);
    for (const [reason, runIds] of byReason) {
      this.logger.warn(`${runIds.length} run(s) could not be queued: ${reason}`);
      await this.runs.failAllUnqueued(runIds, `Could not be queued: ${reason}`, new Date());
    }
    return outcome;
  }

  async list(query: RunQueryDto): Promise<RunResponse[]> {
    if (query.hostId !== undefined && query.host !== undefined) {
      throw new DomainError(ErrorCode.ValidationFailed, 'Give hostId or host, not both', ['hostId and host must not both be given']);
    }
    const hostIdOrName = query.hostId ?? query.host;
    const hostId = hostIdOrName === undefined ? undefined : (await this.hostService.findOrThrow(hostIdOrName)).id;
    const runs = await this.runs.list({
      limit: query.limit ?? RUN_LIST_LIMIT_DEFAULT,
      ...(hostId === undefined ? {} : { hostId }),
      ...(query.status === undefined ? {} : { status: query.status }),
    });
    return runs.map((run) => mapRun(run));
  }

  async get(id: string): Promise<RunResponse> {
    const found = await findRunOrThrow(id, (runId) => this.runs.findWithFileErrors(runId, RUN_FILE_ERRORS_SHOWN));
    return mapRun(found.run, found.fileErrors);
  }

  /** Every file error the run kept (up to RUN_FILE_ERRORS_KEPT), a page at a time. */
  async fileErrors(id: string, query: FileErrorQueryDto): Promise<FileErrorPage> {
    const run = await this.findOrThrow(id);
    const limit = query.limit ?? FILE_ERRORS_PAGE_DEFAULT;
    const rows = await this.runs.listFileErrors(run.id, limit, query.after === undefined ? undefined : BigInt(query.after));
    const last = rows.at(-1);
    return { errors: rows.map(mapFileErrorRow), nextAfter: rows.length === limit && last !== undefined ? last.id.toString() : null };
  }

  findOrThrow(id: string): Promise<RunRecord> {
    return findRunOrThrow(id, (runId) => this.runs.findById(runId));
  }

  /**
   * Adds the run's job to its host's queue. When Redis cannot take it, the run is ended as failed (a queued run
   * without a job would block the host's next backup forever) and the caller gets 503.
   */
  async enqueue(runId: string, job: JobData): Promise<void> {
    try {
      await this.queues.addRunJob(job);
    } catch (error) {
      if (!(error instanceof QueueUnavailableError)) throw error;
      this.logger.warn(`Run ${runId} could not be queued: ${error.message}`);
      await this.runs.failUnqueued(runId, `Could not be queued: ${error.message}`, new Date());
      throw new DomainError(ErrorCode.QueueUnavailable, `The run could not be queued (${error.message}); check Redis and try again`);
    }
  }
}
