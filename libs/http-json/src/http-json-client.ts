import http from 'node:http';
import https from 'node:https';

export interface HttpJsonClientOptions {
  /** Longest a request may take, from sending it to the end of the answer's body. */
  readonly timeoutMs: number;
  /** Largest answer body accepted (default 16 MiB): a bigger one fails the request instead of filling memory. */
  readonly maxResponseBytes?: number;
}

export interface HttpJsonRequest {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Appended to the base URL as it is (the caller encodes its parts). */
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Sent as JSON; no body when undefined. */
  readonly body?: unknown;
  /**
   * The server may handle it twice with the same effect (a read, a report that sets what it says). Only such a
   * request is sent again when its kept-alive connection breaks before the answer: the server may have handled it.
   */
  readonly idempotent?: boolean;
}

export interface HttpJsonResponse {
  readonly status: number;
  /** 2xx. */
  readonly ok: boolean;
  /** The body as text ('' when empty); the caller parses it, and knows what a non-JSON answer means to it. */
  readonly text: string;
}

/** The request got no answer: the server was unreachable, the connection broke, or the answer was too slow or too big. */
export class HttpJsonError extends Error {
  constructor(
    message: string,
    /** The system error code when there is one (ECONNREFUSED, ECONNRESET...), or ETIMEDOUT, ETOOBIG, ECLOSED. */
    readonly code: string | undefined,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'HttpJsonError';
  }
}

const DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024;
/** Idle kept-alive connections close after this, or a second before the server's hint when that is shorter. */
const IDLE_SOCKET_TIMEOUT_MS = 30_000;
/** A request that failed on a kept-alive connection the server had closed is sent again at most this often. */
const MAX_STALE_RETRIES = 2;

/**
 * JSON over HTTP(S) to one server, on node:http with kept-alive connections. The agent and the receiver call the
 * controller with it: a session's verification and a run's start and finish are on a backup's critical path, and
 * Node's fetch costs several times as much per request (measured: 1.6-1.8 ms against 0.4-0.6 ms a warm round trip
 * on loopback, 7 ms against 2.5 ms for the second request of a process).
 *
 * Idle connections are closed a second before the server's keep-alive timeout (its `Keep-Alive: timeout=` hint),
 * as fetch does, so a request rarely meets one the server is closing. When one does, it fails with ECONNRESET on
 * the reused connection, before any answer; an idempotent request is then sent again on a new connection (Node's
 * documented remedy, see `request.reusedSocket`). Any other failure is reported as it is: the server may have
 * handled the request before the connection broke.
 */
export class HttpJsonClient {
  private readonly base: URL;
  private readonly transport: typeof http | typeof https;
  private readonly agent: http.Agent;
  private readonly maxResponseBytes: number;
  private closed = false;

  constructor(
    baseUrl: string,
    private readonly options: HttpJsonClientOptions,
  ) {
    this.base = new URL(baseUrl);
    if (this.base.protocol !== 'http:' && this.base.protocol !== 'https:') {
      throw new TypeError(`${baseUrl} is not an http or https URL`);
    }
    if (this.base.username !== '' || this.base.password !== '') throw new TypeError('a URL with a user name or password is not supported');
    this.transport = this.base.protocol === 'https:' ? https : http;
    // With a timeout set, Node's agent also honours the server's keep-alive hint (closing a second before it).
    this.agent = new this.transport.Agent({ keepAlive: true, timeout: IDLE_SOCKET_TIMEOUT_MS });
    this.maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  }

  /** The full URL of a path, as requests use it (for messages). */
  urlOf(path: string): string {
    return `${this.base.href.replace(/\/$/, '')}${path}`;
  }

  async request(request: HttpJsonRequest): Promise<HttpJsonResponse> {
    if (this.closed) throw new HttpJsonError('the client is closed', 'ECLOSED');
    const body = request.body === undefined ? null : Buffer.from(JSON.stringify(request.body), 'utf8');
    const headers: Record<string, string> = { accept: 'application/json', ...request.headers };
    if (body !== null) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(body.length);
    }
    const deadline = Date.now() + this.options.timeoutMs;
    for (let retries = 0; ; retries++) {
      const outcome = await this.send(request.method, this.urlOf(request.path), headers, body, deadline);
      if (!('stale' in outcome)) return outcome;
      if (request.idempotent !== true || this.closed || retries >= MAX_STALE_RETRIES) throw outcome.stale;
    }
  }

  /** Closes every connection, those of requests under way too (they fail); later requests fail at once. */
  close(): void {
    this.closed = true;
    this.agent.destroy();
  }

  private send(method: string, url: string, headers: Record<string, string>, body: Buffer | null, deadline: number): Promise<HttpJsonResponse | { stale: HttpJsonError }> {
    return new Promise((resolve, reject) => {
      let answered = false;
      let settled = false;
      const settle = (outcome: HttpJsonResponse | { stale: HttpJsonError } | HttpJsonError): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (outcome instanceof HttpJsonError) reject(outcome);
        else resolve(outcome);
      };
      const req = this.transport.request(url, { method, headers, agent: this.agent }, (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        let length = 0;
        res.on('data', (chunk: Buffer) => {
          if (settled) return;
          length += chunk.length;
          if (length > this.maxResponseBytes) {
            settle(new HttpJsonError(`the answer is larger than ${this.maxResponseBytes} bytes`, 'ETOOBIG'));
            res.destroy();
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          settle({ status, ok: status >= 200 && status < 300, text: Buffer.concat(chunks, length).toString('utf8') });
        });
        res.on('error', (error) => settle(asHttpJsonError(error)));
      });
      const timer = setTimeout(() => req.destroy(new HttpJsonError(`no answer within ${this.options.timeoutMs} ms`, 'ETIMEDOUT')), Math.max(0, deadline - Date.now()));
      req.on('error', (error) => {
        const wrapped = asHttpJsonError(error);
        settle(!answered && req.reusedSocket && wrapped.code === 'ECONNRESET' ? { stale: wrapped } : wrapped);
      });
      req.end(body ?? undefined);
    });
  }
}

function asHttpJsonError(error: unknown): HttpJsonError {
  if (error instanceof HttpJsonError) return error;
  // Read by shape: an error from another realm (a vm context, a test runner's sandbox) is no instanceof Error here.
  const { code, message } = (typeof error === 'object' && error !== null ? error : {}) as { code?: unknown; message?: unknown };
  return new HttpJsonError(typeof message === 'string' ? message : String(error), typeof code === 'string' ? code : undefined, { cause: error });
}
