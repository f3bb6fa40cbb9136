/**
 * Every error the API can answer with. The code is part of the contract (ApiErrorBody.code): the CLI and the
 * agent branch on it, so codes are never renamed. httpStatusOf is exhaustive: a new code must pick a status.
 */
export const ErrorCode = {
  ValidationFailed: 'validation_failed',
  BadRequest: 'bad_request',
  NotFound: 'not_found',
  HostNotFound: 'host_not_found',
  RunNotFound: 'run_not_found',
  SnapshotNotFound: 'snapshot_not_found',
  GroupNotFound: 'group_not_found',
  WebhookNotFound: 'webhook_not_found',
  AlreadyExists: 'already_exists',
  RunInProgress: 'run_in_progress',
  /** A retry of a run that published its snapshot (succeeded or partial): start a new backup instead. */
  RunNotRetryable: 'run_not_retryable',
  /** A cancel of a run that has already ended (succeeded, partial, failed or canceled). */
  RunNotCancelable: 'run_not_cancelable',
  /** An agent reported on a run that already ended (its job must not run again). */
  RunFinished: 'run_finished',
  /** An agent reported progress on a run it has not started. */
  RunNotStarted: 'run_not_started',
  /** A manual backup of a paused host (or a host of a paused group) without force. */
  HostPaused: 'host_paused',
  /** A backup of a host with neither paths of its own nor a group giving some. */
  HostHasNoPaths: 'host_has_no_paths',
  /** A test delivery to a disabled webhook. */
  WebhookDisabled: 'webhook_disabled',
  InvalidEnrollmentSecret: 'invalid_enrollment_secret',
  InvalidCredential: 'invalid_credential',
  InvalidReceiverToken: 'invalid_receiver_token',
  /** No API token, or one that is unknown, revoked or expired. */
  Unauthenticated: 'unauthenticated',
  /** The API token's role does not allow this call. */
  Forbidden: 'forbidden',
  TokenNotFound: 'token_not_found',
  /** The caller is authenticated, but for another host than the one it acts on. */
  WrongHost: 'wrong_host',
  /** A receiver session was asked for a run that is neither queued nor running. */
  RunNotActive: 'run_not_active',
  PayloadTooLarge: 'payload_too_large',
  QueueUnavailable: 'queue_unavailable',
  /** PostgreSQL is down, restarting or unreachable (try again later), or refuses the controller (the message says which). */
  DatabaseUnavailable: 'database_unavailable',
  Internal: 'internal_error',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export function httpStatusOf(code: ErrorCode): number {
  switch (code) {
    case ErrorCode.ValidationFailed:
    case ErrorCode.BadRequest:
      return 400;
    case ErrorCode.InvalidEnrollmentSecret:
    case ErrorCode.InvalidCredential:
    case ErrorCode.InvalidReceiverToken:
    case ErrorCode.Unauthenticated:
      return 401;
    case ErrorCode.Forbidden:
    case ErrorCode.WrongHost:
    case ErrorCode.RunNotActive:
      return 403;
    case ErrorCode.NotFound:
    case ErrorCode.HostNotFound:
    case ErrorCode.RunNotFound:
    case ErrorCode.SnapshotNotFound:
    case ErrorCode.GroupNotFound:
    case ErrorCode.TokenNotFound:
    case ErrorCode.WebhookNotFound:
      return 404;
    case ErrorCode.AlreadyExists:
    case ErrorCode.RunInProgress:
    case ErrorCode.RunNotRetryable:
    case ErrorCode.RunNotCancelable:
    case ErrorCode.RunFinished:
    case ErrorCode.RunNotStarted:
    case ErrorCode.HostPaused:
    case ErrorCode.HostHasNoPaths:
    case ErrorCode.WebhookDisabled:
      return 409;
    case ErrorCode.PayloadTooLarge:
      return 413;
    case ErrorCode.Internal:
      return 500;
    case ErrorCode.QueueUnavailable:
    case ErrorCode.DatabaseUnavailable:
      return 503;
  }
}
