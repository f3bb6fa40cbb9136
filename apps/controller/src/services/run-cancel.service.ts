import { Injectable, Logger } from '@nestjs/common';
import { type RunResponse } from '@berth/contracts';
import { mapRun } from '../dtos/run.dto';
import { DomainError } from '../errors/domain.error';
import { ErrorCode } from '../errors/error-code';
import { QueueRepository, QueueUnavailableError, type RemoveResult } from '../repositories/queue.repository';
import { type RunRecord, RunRepository } from '../repositories/run.repository';
import { MetricsService } from './metrics.service';
import { type Principal } from './api-token.service';
import { RunService } from './run.service';
import { runNotFound } from './run-lookup.util';

/** Who asked, as the run's error and its last attempt's end reason tell it: the API token's name and role. */
export function cancelNote(requestedBy: Pick<Principal, 'name' | 'role'> | null): string {
  return `canceled at the request of ${requestedBy === null ? 'an operator' : `${requestedBy.name} (${requestedBy.role})`}`;
}

@Injectable()
export class RunCancelService {
  private readonly logger = new Logger('RunCancel');

  constructor(
    private readonly runs: RunRepository,
    private readonly queues: QueueRepository,
    private readonly runService: RunService,
    private readonly metrics: MetricsService,
  ) {}

  /**
   * Cancels a queued or running run. The request is recorded first (an agent taking the job meanwhile is refused
   * at its start), then the job is removed from the queue unless an agent holds it: a run whose job is gone ends
   * canceled at once; a run an agent is working on ends when the agent, told in the answer to its next heartbeat
   * or progress report, has stopped and reports it canceled. What the receiver stored stays for a retry.
   */
  async cancel(id: string, requestedBy: Pick<Principal, 'name' | 'role'> | null): Promise<RunResponse> {
    const run = await this.runService.findOrThrow(id);
    const request = await this.runs.requestCancel(run.id, cancelNote(requestedBy), new Date());
    if (request === null) throw runNotFound(id);
    if ('ended' in request) throw notCancelable(request.ended);

    let job: RemoveResult;
    try {
      job = await this.queues.removeRunJob(run.hostId, run.id);
    } catch (error) {
      if (!(error instanceof QueueUnavailableError)) throw error;
      // The request stands: the agent learns of it from its next heartbeat, the reconciler ends it otherwise.
      this.logger.warn(`run ${run.id}: cancel requested, but its job could not be looked at: ${error.message}`);
      return mapRun(request.active);
    }
    if (job === 'held-by-agent') {
      this.logger.log(`run ${run.id}: cancel requested; the agent of ${run.host.name} holds its job and will stop it`);
      return mapRun(request.active);
    }
    const ended = await this.runs.endCanceled(run.id, new Date());
    if (ended !== null) this.metrics.observeRunFinished(ended);
    this.logger.log(`run ${run.id} ${ended === null ? 'ended meanwhile' : `canceled at once (its job ${job === 'removed' ? 'was removed from the queue' : 'was gone'})`}`);
    return mapRun(ended ?? (await this.runService.findOrThrow(run.id)));
  }
}

function notCancelable(run: RunRecord): DomainError {
  const when = run.finishedAt === null ? '' : ` at ${run.finishedAt.toISOString()}`;
  return new DomainError(ErrorCode.RunNotCancelable, `Run ${run.id} has already ended (${run.status}${when}); there is nothing to cancel`);
}
