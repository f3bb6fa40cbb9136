import { Injectable, Logger } from '@nestjs/common';
import { type RunResponse } from '@berth/contracts';
import { mapRun } from '../dtos/run.dto';
import { effectiveSettings } from './effective-settings.util';
import { DomainError } from '../errors/domain.error';
import { ErrorCode } from '../errors/error-code';
import { QueueRepository, QueueUnavailableError } from '../repositories/queue.repository';
import { type RetriedFrom, RunRepository } from '../repositories/run.repository';
import { HostService } from './host.service';
import { retryJobData, retryRefusal } from './run-retry.util';
import { RunService } from './run.service';
import { runNotFound } from './run-lookup.util';

@Injectable()
export class RunRetryService {
  private readonly logger = new Logger('RunRetry');

  constructor(
    private readonly runs: RunRepository,
    private readonly queues: QueueRepository,
    private readonly runService: RunService,
    private readonly hostService: HostService,
  ) {}

  /**
   * Re-queues a failed or canceled run under the same BullMQ job id, so its next attempt resumes from the
   * receiver's journal. The run goes back to queued first (an agent taking the job at once must find it
   * startable), then the job; when the job cannot be queued the run is put back as it was.
   */
  async retry(id: string): Promise<RunResponse> {
    const run = await this.runService.findOrThrow(id);
    const refusal = retryRefusal(run);
    if (refusal !== null) throw refusal;
    const host = await this.hostService.findOrThrow(run.hostId);
    // A backup job made afresh takes the host's effective paths and excludes (its group's when it has none).
    const job = retryJobData(run, { ...host, ...effectiveSettings(host) });

    const result = await this.runs.requeueForRetry(run.id);
    if (result === null) throw runNotFound(id);
    if ('refused' in result) throw retryRefusal(result.refused) ?? new DomainError(ErrorCode.RunInProgress, `Run ${run.id} changed meanwhile; look at it again`);
    if ('active' in result) {
      throw new DomainError(ErrorCode.RunInProgress, `Host "${host.name}" already has backup run ${result.active.id} ${result.active.status}; retry when it has ended`);
    }

    let outcome;
    try {
      outcome = await this.queues.requeueRunJob(job);
    } catch (error) {
      await this.runs.revertRetry(run.id, result.previous);
      if (!(error instanceof QueueUnavailableError)) throw error;
      throw new DomainError(ErrorCode.QueueUnavailable, `The run could not be queued again (${error.message}); check Redis and try again`);
    }
    if (outcome === 'held-by-agent') {
      await this.runs.revertRetry(run.id, result.previous);
      throw new DomainError(ErrorCode.RunInProgress, `Run ${run.id}'s job is still held by the agent of ${host.name}; retry once it lets go (within a minute if the agent is gone)`);
    }
    this.logger.log(`run ${run.id} retried by an operator (job ${outcome}); ${previousState(result.previous)}`);
    return mapRun(result.requeued);
  }
}

function previousState(previous: RetriedFrom): string {
  return `it was ${previous.status} after ${previous.attempts} attempt(s)${previous.error === null ? '' : `: ${previous.error}`}`;
}
