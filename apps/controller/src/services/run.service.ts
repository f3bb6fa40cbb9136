import { Injectable, Logger } from '@nestjs/common';
import { type BackupJobData, type FileErrorPage, JobName, type JobData, type RunResponse } from '@berth/contracts';
import { FILE_ERRORS_PAGE_DEFAULT, type FileErrorQueryDto, mapFileErrorRow, mapRun, RUN_FILE_ERRORS_SHOWN, RUN_LIST_LIMIT_DEFAULT, type RunQueryDto } from '../dtos/run.dto';
import { DomainError } from '../errors/domain.error';
import { ErrorCode } from '../errors/error-code';
import { QueueRepository, QueueUnavailableError } from '../repositories/queue.repository';
import { type HostRecord } from '../repositories/host.repository';
import { type RunRecord, RunRepository } from '../repositories/run.repository';
import { type Run } from '../generated/prisma/client';
import { isUuid } from '../utils/uuid.util';
import { effectiveSettings } from './effective-settings.util';
import { HostService } from './host.service';

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
   * (or a host of a paused group) unless forced.
   */
  async triggerBackup(idOrName: string, options: { force?: boolean } = {}): Promise<RunResponse> {
    const host = await this.hostService.findOrThrow(idOrName);
    if (options.force !== true && effectiveSettings(host).paused) {
      throw new DomainError(ErrorCode.HostPaused, `Host "${host.name}" is paused${host.pausedAt === null ? ' (its group is)' : ''}; unpause it, or add ?force=true to back it up anyway`);
    }
    const result = await this.startBackup(host);
    if ('active' in result) {
      throw new DomainError(ErrorCode.RunInProgress, `Host "${host.name}" already has backup run ${result.active.id} ${result.active.status}`);
    }
    return mapRun(result.queued);
  }

  /**
   * Creates a backup run of the host unless one is active, and queues its job (job id = run id) with the host's
   * effective paths and excludes, not to start before `notBefore` (a scheduled host's place in its schedule's spread).
   */
  async startBackup(host: HostRecord, notBefore: Date | null = null): Promise<{ queued: RunRecord } | { active: Run }> {
    const { paths, excludes } = effectiveSettings(host);
    if (paths.length === 0) {
      throw new DomainError(ErrorCode.HostHasNoPaths, `Host "${host.name}" has no paths to back up: give it paths, or put it in a group that has some`);
    }
    const result = await this.runs.createBackupRunUnlessActive(host.id);
    if ('active' in result) return result;
    const run = result.created;
    const job: BackupJobData = { kind: JobName.Backup, runId: run.id, hostId: host.id, paths, excludes };
    return { queued: await this.enqueue(run, job, notBefore) };
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
    const run = await this.findOrThrow(id);
    return mapRun(run, await this.runs.listFileErrors(run.id, RUN_FILE_ERRORS_SHOWN));
  }

  /** Every file error the run kept (up to RUN_FILE_ERRORS_KEPT), a page at a time. */
  async fileErrors(id: string, query: FileErrorQueryDto): Promise<FileErrorPage> {
    const run = await this.findOrThrow(id);
    const limit = query.limit ?? FILE_ERRORS_PAGE_DEFAULT;
    const rows = await this.runs.listFileErrors(run.id, limit, query.after === undefined ? undefined : BigInt(query.after));
    const last = rows.at(-1);
    return { errors: rows.map(mapFileErrorRow), nextAfter: rows.length === limit && last !== undefined ? last.id.toString() : null };
  }

  async findOrThrow(id: string): Promise<RunRecord> {
    const run = isUuid(id) ? await this.runs.findById(id) : null;
    if (run === null) {
      throw new DomainError(ErrorCode.RunNotFound, `Run "${id}" not found`);
    }
    return run;
  }

  /**
   * Adds the run's job to its host's queue. When Redis cannot take it, the run is ended as failed (a queued run
   * without a job would block the host's next backup forever) and the caller gets 503.
   */
  async enqueue(run: RunRecord, job: JobData, notBefore: Date | null = null): Promise<RunRecord> {
    try {
      await this.queues.addRunJob(job, notBefore);
      return run;
    } catch (error) {
      if (!(error instanceof QueueUnavailableError)) throw error;
      this.logger.warn(`Run ${run.id} could not be queued: ${error.message}`);
      await this.runs.failUnqueued(run.id, `Could not be queued: ${error.message}`, new Date());
      throw new DomainError(ErrorCode.QueueUnavailable, `The run could not be queued (${error.message}); check Redis and try again`);
    }
  }
}
