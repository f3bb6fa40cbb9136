import { ErrorCode } from './messages';

/** A protocol-level failure. `code` travels in the Error frame; `remote` is true when the peer sent it. */
export class WireError extends Error {
  override readonly name = 'WireError';

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly remote = false,
  ) {
    super(message);
  }

  static protocol(message: string): WireError {
    return new WireError(ErrorCode.Protocol, message);
  }

  static badPath(message: string): WireError {
    return new WireError(ErrorCode.BadPath, message);
  }
}

export function isWireError(value: unknown): value is WireError {
  return value instanceof WireError;
}
