/**
 * How a run's attempt reports its end to the controller. A failure report must not hide the failure:
 * when the controller cannot be told, the original error still propagates (BullMQ keeps the truth).
 */
import { type FileErrorResponse, type RunCounters, type RunFinishRequest, type RunPhase } from '@berth/contracts';
import { type RunReporter } from '../controller/controller-client';
import { AgentError, AgentErrorCode, errorMessage, toAgentError } from '../errors/agent-error';
import { type Logger } from '../util/logger';

/** About a minute in all (0.5, 1, 2, 4, 8, 15, 15, 15 s): a controller or PostgreSQL restart fits in it. */
const FINISH_TRIES = 9;
const FINISH_RETRY_FIRST_MS = 500;
const FINISH_RETRY_MAX_MS = 15_000;

/**
 * runFinish for a successful or partial attempt. Retried for about a minute while the controller is
 * unavailable: the snapshot is published already, and failing now would make BullMQ run the backup again.
 */
export async function reportFinished(controller: RunReporter, runId: string, request: RunFinishRequest, log: Logger): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await controller.runFinish(runId, request);
      return;
    } catch (error) {
      const retryable = error instanceof AgentError && error.code === AgentErrorCode.ControllerUnavailable;
      if (!retryable || attempt >= FINISH_TRIES) throw error;
      log.warn(`run ${runId}: reporting the end failed (try ${attempt} of ${FINISH_TRIES}): ${errorMessage(error)}`);
      await new Promise((resolve) => setTimeout(resolve, Math.min(FINISH_RETRY_FIRST_MS * 2 ** (attempt - 1), FINISH_RETRY_MAX_MS)));
    }
  }
}

export interface FailedAttempt {
  readonly error: AgentError;
  readonly willRetry: boolean;
}

/**
 * The cancel that stopped the run, when the run's signal was aborted for one (see AgentWorker.cancelRun): whatever
 * the interrupted work threw then, the attempt ended because of the cancel.
 */
export function cancelOf(signal: AbortSignal | undefined): AgentError | null {
  const reason: unknown = signal?.aborted === true ? signal.reason : undefined;
  return reason instanceof AgentError && reason.code === AgentErrorCode.Canceled ? reason : null;
}

/**
 * Classifies the failure, tells the controller (best effort), and returns what to rethrow. `signal` is the run's:
 * an attempt stopped by a cancel is reported canceled, and never retried.
 */
export async function reportFailed(
  controller: RunReporter,
  runId: string,
  caught: unknown,
  retriesLeft: boolean,
  state: { counters: RunCounters; fileErrors: readonly FileErrorResponse[]; bytesResent?: number | null; phases?: readonly RunPhase[] },
  log: Logger,
  signal?: AbortSignal,
): Promise<FailedAttempt> {
  const error = cancelOf(signal) ?? toAgentError(caught);
  const canceled = error.code === AgentErrorCode.Canceled;
  // An interrupted attempt goes back to the queue without using up an attempt.
  const willRetry = error.code === AgentErrorCode.Interrupted || (error.retryable && retriesLeft);
  const request: RunFinishRequest = {
    status: canceled ? 'canceled' : 'failed',
    counters: state.counters,
    error: `${error.code}: ${error.message}`,
    ...(canceled ? {} : { willRetry }),
    ...(state.fileErrors.length > 0 ? { fileErrors: [...state.fileErrors] } : {}),
    ...(state.bytesResent === undefined || state.bytesResent === null ? {} : { bytesResent: state.bytesResent }),
    ...(state.phases === undefined || state.phases.length === 0 ? {} : { phases: [...state.phases] }),
  };
  try {
    await controller.runFinish(runId, request);
  } catch (reportError) {
    log.warn(`run ${runId}: could not report the failure to the controller: ${errorMessage(reportError)}`);
  }
  return { error, willRetry };
}
