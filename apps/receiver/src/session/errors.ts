import { ErrorCode, WireError } from '@berth/wire';

/** Any failure as the Error frame and log reason it becomes. Repository input errors are the peer's fault. */
export function toWireError(error: unknown): WireError {
  if (error instanceof WireError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  if (code === 'REPOSITORY_INVALID_INPUT') return new WireError(ErrorCode.Protocol, `rejected by the repository: ${message}`);
  return new WireError(ErrorCode.Internal, `receiver failure: ${message}`);
}

export function protocolError(message: string): WireError {
  return new WireError(ErrorCode.Protocol, message);
}
