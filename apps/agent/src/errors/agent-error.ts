/**
 * Domain errors of the agent. The code decides what happens to the job: `retryable` errors let BullMQ
 * try again (the next attempt resumes from the receiver's journal); the others end the run for good.
 */
export const AgentErrorCode = {
  /** Bad flag or environment value. */
  Config: 'config',
  /** No stored credential and no enrollment secret, or enrollment refused. */
  Enrollment: 'enrollment',
  /** The controller or the receiver refused the agent's credential. */
  CredentialRefused: 'credential_refused',
  /** Controller unreachable or answering 5xx. */
  ControllerUnavailable: 'controller_unavailable',
  /** The controller answered 4xx to a request the agent built (a bug or a removed run). */
  ControllerRejected: 'controller_rejected',
  /** Receiver unreachable, connection lost, or heartbeats stopped. */
  ReceiverUnavailable: 'receiver_unavailable',
  /** The receiver sent something the protocol does not allow here. */
  Protocol: 'protocol',
  /** The receiver ended the session with an Error message. */
  ReceiverError: 'receiver_error',
  /** A job payload that cannot be processed (wrong host, missing field). */
  BadJob: 'bad_job',
  /** None of the configured backup paths exists. */
  NothingToBackUp: 'nothing_to_back_up',
  /** A restore target that exists and is not empty, or is not absolute. */
  RestoreTarget: 'restore_target',
  /** A restore entry whose path would leave the target directory, or that contradicts earlier entries. */
  RestorePath: 'restore_path',
  /** The worker is shutting down; the job goes back to the queue. */
  Interrupted: 'interrupted',
  /** An operator canceled the run: the attempt stops, the job is not retried, the run is reported canceled. */
  Canceled: 'canceled',
  /** Anything else (an I/O surprise, a bug): retried, since a new attempt is cheap. */
  Unexpected: 'unexpected',
} as const;
export type AgentErrorCode = (typeof AgentErrorCode)[keyof typeof AgentErrorCode];

const RETRYABLE: ReadonlySet<AgentErrorCode> = new Set<AgentErrorCode>([
  AgentErrorCode.ControllerUnavailable,
  AgentErrorCode.ReceiverUnavailable,
  AgentErrorCode.Protocol,
  AgentErrorCode.ReceiverError,
  AgentErrorCode.Interrupted,
  AgentErrorCode.Unexpected,
]);

export class AgentError extends Error {
  constructor(
    readonly code: AgentErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'AgentError';
  }

  get retryable(): boolean {
    return RETRYABLE.has(this.code);
  }
}

export function toAgentError(error: unknown): AgentError {
  return error instanceof AgentError ? error : new AgentError(AgentErrorCode.Unexpected, errorMessage(error), { cause: error });
}

/** The message of anything thrown (duck-typed: errors from Node's internals may come from another realm). */
export function errorMessage(error: unknown): string {
  if (typeof error === 'object' && error !== null && typeof (error as { message?: unknown }).message === 'string') return (error as { message: string }).message;
  return String(error);
}
