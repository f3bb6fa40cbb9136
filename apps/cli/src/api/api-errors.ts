import { type ApiErrorBody } from '@berth/contracts';

/** The controller did not answer at all (connection refused, unknown name, timeout...). */
export class ControllerUnreachableError extends Error {
  constructor(
    readonly controllerUrl: string,
    /** System error code such as ECONNREFUSED, or TIMEOUT. */
    readonly reason: string,
  ) {
    super(`cannot reach the controller at ${controllerUrl} (${reason})`);
    this.name = 'ControllerUnreachableError';
  }
}

/** The controller answered with an error status; `body` is its ApiErrorBody (or one built from the status). */
export class ApiRequestError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly body: ApiErrorBody,
  ) {
    super(body.message);
    this.name = 'ApiRequestError';
  }

  get status(): number {
    return this.body.statusCode;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads an error response into an ApiErrorBody, whatever the server actually sent. */
export function toApiErrorBody(status: number, statusText: string, text: string): ApiErrorBody {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (isRecord(parsed) && typeof parsed['message'] === 'string') {
    const details = Array.isArray(parsed['details']) ? parsed['details'].filter((d): d is string => typeof d === 'string') : undefined;
    return {
      statusCode: typeof parsed['statusCode'] === 'number' ? parsed['statusCode'] : status,
      code: typeof parsed['code'] === 'string' ? parsed['code'] : `HTTP_${status}`,
      message: parsed['message'],
      ...(details !== undefined && details.length > 0 ? { details } : {}),
    };
  }
  const snippet = text.trim().slice(0, 200);
  return { statusCode: status, code: `HTTP_${status}`, message: `controller answered ${status} ${statusText}${snippet ? `: ${snippet}` : ''}` };
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT']);

/**
 * The system error code behind a failed fetch(), if it is a network failure (undici wraps it in `cause`,
 * sometimes an AggregateError). Duck-typed: errors from fetch may come from another realm than ours.
 */
export function networkErrorCode(error: unknown): string | null {
  if (!isObject(error)) return null;
  if (error['name'] === 'TimeoutError' || error['name'] === 'AbortError') return 'TIMEOUT';
  const cause = error['cause'];
  const candidates: unknown[] = [error, cause];
  if (isObject(cause) && Array.isArray(cause['errors'])) for (const inner of cause['errors'] as unknown[]) candidates.push(inner);
  for (const candidate of candidates) {
    const code = isObject(candidate) ? candidate['code'] : undefined;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return code;
  }
  return error['message'] === 'fetch failed' ? 'fetch failed' : null;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
