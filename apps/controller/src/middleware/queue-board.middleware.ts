import { Injectable, Logger } from '@nestjs/common';
import { type ApiErrorBody } from '@berth/contracts';
import { type IncomingMessage, type ServerResponse } from 'node:http';
import { type TLSSocket } from 'node:tls';
import { answerFailure, errorBody } from '../errors/api-exception.filter';
import { ErrorCode } from '../errors/error-code';
import { type BoardAccess, QUEUE_BOARD_PATH, QueueBoardService } from '../services/queue-board.service';
import { clearedTokenCookie, parseCookies, TOKEN_COOKIE, tokenCookie } from './browser-session.util';
import { BOARD_CSP, SIGN_IN_PAGE_CSP, signInPage } from './queue-board.pages';

/** A sign-in form holds one token: anything longer is not one. */
const SIGN_IN_BODY_LIMIT = 8 * 1024;

type Next = (error?: unknown) => void;
/** Express' request as far as used here: the JSON body parser may have run before (then `body` is set). */
type BoardRequest = IncomingMessage & { body?: unknown };

/**
 * Everything under /queues, ahead of Nest's routes (Nest's guard does not see these requests): the sign-in form
 * and its POST (sets the HttpOnly, SameSite=Strict `berth_token` cookie), sign-out, and Bull Board for a cookie
 * that resolves to an admin token; 401 without a valid one (the sign-in page for a browser), 403 for other roles.
 * State-changing board calls from another origin are refused as well (SameSite already keeps the cookie off them).
 */
@Injectable()
export class QueueBoardMiddleware {
  private readonly logger = new Logger('QueueBoard');

  constructor(private readonly board: QueueBoardService) {}

  /** Bound handler for `app.use(QUEUE_BOARD_PATH, ...)`: the request's url is relative to the mount point. */
  readonly handle = (request: BoardRequest, response: ServerResponse, next: Next): void => {
    this.route(request, response, next).catch((error: unknown) => {
      const body = answerFailure(this.logger, `${request.method ?? '?'} ${QUEUE_BOARD_PATH}${request.url ?? ''}`, error);
      if (!response.headersSent) sendJson(response, body);
      else response.end();
    });
  };

  private async route(request: BoardRequest, response: ServerResponse, next: Next): Promise<void> {
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    const method = request.method ?? 'GET';
    const safe = method === 'GET' || method === 'HEAD';
    if (!safe && !sameOrigin(request)) {
      sendJson(response, errorBody(ErrorCode.Forbidden, 'Cross-origin request refused'));
      return;
    }
    if (path === '/sign-in' && method === 'POST') return this.signIn(request, response);
    if (path === '/sign-out') {
      response.setHeader('Set-Cookie', clearedTokenCookie(isHttps(request)));
      redirect(response, `${QUEUE_BOARD_PATH}/`);
      return;
    }
    const token = parseCookies(request.headers.cookie).get(TOKEN_COOKIE) ?? null;
    const access = await this.board.access(token);
    if (access !== 'admin') {
      this.refuse(request, response, path, access, null);
      return;
    }
    await this.board.refresh();
    response.setHeader('Content-Security-Policy', BOARD_CSP);
    response.setHeader('Cache-Control', 'no-store');
    response.setHeader('X-Content-Type-Options', 'nosniff');
    this.board.handler(request, response, next);
  }

  private async signIn(request: BoardRequest, response: ServerResponse): Promise<void> {
    const token = await submittedToken(request);
    if (token === null) {
      this.refuse(request, response, '/sign-in', 'unauthenticated', 'Enter an API token.');
      return;
    }
    const access = await this.board.access(token);
    if (access !== 'admin') {
      this.refuse(request, response, '/sign-in', access, null);
      return;
    }
    response.setHeader('Set-Cookie', tokenCookie(token, isHttps(request)));
    redirect(response, `${QUEUE_BOARD_PATH}/`);
  }

  /** 401 or 403: the sign-in page for a browser, an ApiErrorBody for anything else (the board's own API calls). */
  private refuse(request: BoardRequest, response: ServerResponse, path: string, access: Exclude<BoardAccess, 'admin'>, message: string | null): void {
    const body =
      access === 'forbidden'
        ? errorBody(ErrorCode.Forbidden, 'The queue board is for admin tokens only')
        : errorBody(ErrorCode.Unauthenticated, 'Sign in with an admin API token: POST /queues/sign-in sets the berth_token cookie');
    const wantsHtml = !path.startsWith('/api/') && (request.headers.accept ?? '').includes('text/html');
    if (!wantsHtml) {
      sendJson(response, body);
      return;
    }
    const shown = message ?? (access === 'forbidden' ? 'This token is not an admin token: the queue board is for administrators only.' : path === '/sign-in' ? 'This token is unknown, revoked or expired.' : null);
    response.statusCode = body.statusCode;
    response.setHeader('Content-Type', 'text/html; charset=utf-8');
    response.setHeader('Content-Security-Policy', SIGN_IN_PAGE_CSP);
    response.setHeader('Cache-Control', 'no-store');
    response.end(signInPage(`${QUEUE_BOARD_PATH}/sign-in`, shown));
  }
}

/** The token of a sign-in POST: a form field or a JSON property named "token"; null when absent or oversized. */
async function submittedToken(request: BoardRequest): Promise<string | null> {
  const parsed = request.body;
  if (typeof parsed === 'object' && parsed !== null) {
    const token: unknown = 'token' in parsed ? parsed.token : undefined;
    return typeof token === 'string' && token.trim() !== '' ? token.trim() : null;
  }
  // Parsed by nobody yet (a form post): the stream is still unread.
  if (request.readableEnded) return null;
  const text = await readBody(request, SIGN_IN_BODY_LIMIT);
  if (text === null) return null;
  const token = new URLSearchParams(text).get('token')?.trim() ?? '';
  return token === '' ? null : token;
}

function readBody(request: IncomingMessage, limit: number): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    request.on('end', () => resolve(size <= limit ? Buffer.concat(chunks).toString('utf8') : null));
    request.on('error', reject);
  });
}

function sameOrigin(request: IncomingMessage): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
}

/** HTTPS as the browser sees it (directly, or through a proxy that says so): the cookie then gets Secure. */
function isHttps(request: IncomingMessage): boolean {
  return (request.socket as Partial<TLSSocket>).encrypted === true || request.headers['x-forwarded-proto'] === 'https';
}

function redirect(response: ServerResponse, location: string): void {
  response.statusCode = 303;
  response.setHeader('Location', location);
  response.setHeader('Cache-Control', 'no-store');
  response.end();
}

function sendJson(response: ServerResponse, body: ApiErrorBody): void {
  response.statusCode = body.statusCode;
  response.setHeader('Content-Type', 'application/json; charset=utf-8');
  response.setHeader('Cache-Control', 'no-store');
  response.end(JSON.stringify(body));
}
