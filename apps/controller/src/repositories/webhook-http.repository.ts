import { Injectable } from '@nestjs/common';

/** What the receiver of a POST answered, or why there was no answer. */
export type HttpAnswer = { statusCode: number } | { error: string };

/** The one place the controller makes outgoing HTTP requests: webhook deliveries. */
@Injectable()
export class WebhookHttpRepository {
  /**
   * POSTs a body and waits at most `timeoutMs` for the status line. Redirects are not followed (a 3xx is an answer
   * like any other) and the response body is not read.
   */
  async post(url: string, headers: Readonly<Record<string, string>>, body: string, timeoutMs: number): Promise<HttpAnswer> {
    try {
      const response = await fetch(url, { method: 'POST', headers, body, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
      await response.body?.cancel().catch(() => undefined);
      return { statusCode: response.status };
    } catch (error) {
      return { error: describeFetchError(error, timeoutMs) };
    }
  }
}

function describeFetchError(error: unknown, timeoutMs: number): string {
  if (error instanceof DOMException && (error.name === 'TimeoutError' || error.name === 'AbortError')) return `no answer within ${timeoutMs} ms`;
  if (error instanceof Error) {
    // undici puts the system error (ECONNREFUSED, ENOTFOUND...) in cause.
    const cause = error.cause;
    if (cause instanceof Error) return `${error.message}: ${cause.message}`;
    return error.message;
  }
  return String(error);
}
