import { type ErrorCode } from './error-code';

/** A failure the API reports as such: a code from the catalog, a one-line message, optional per-field details. */
export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: readonly string[],
  ) {
    super(message);
    this.name = 'DomainError';
  }
}
