import { type CheckCredentialsRequest, RECEIVER_API, type VerifySessionRequest, type VerifySessionResponse } from '@berth/contracts';
import { HttpJsonClient, type HttpJsonResponse } from '@berth/http-json';
import { ErrorCode, WireError } from '@berth/wire';
import { type SessionVerifier } from './session-verifier';
import { parseInvalidCredentials, parseVerifyResponse } from './verify-response';

const REQUEST_TIMEOUT_MS = 10_000;

/** Asks the controller's internal API, authenticated with the receiver's own token. */
export class ControllerSessionVerifier implements SessionVerifier {
  private readonly http: HttpJsonClient;

  constructor(
    controllerUrl: string,
    private readonly receiverToken: string,
  ) {
    this.http = new HttpJsonClient(controllerUrl, { timeoutMs: REQUEST_TIMEOUT_MS });
  }

  /** Asked anew for every Hello: nothing is cached, so a revoked credential cannot open a session. */
  async verify(request: VerifySessionRequest): Promise<VerifySessionResponse> {
    const response = await this.post(RECEIVER_API.verifySession, request, 'verify the session');
    if (response.status === 401) throw new WireError(ErrorCode.Unauthorized, `credential rejected${reasonOf(response)}`);
    if (response.status === 403) throw new WireError(ErrorCode.Forbidden, 'this host may not use this run');
    if (response.status === 404) throw new WireError(ErrorCode.Forbidden, 'no such run for this host');
    if (!response.ok) throw new WireError(ErrorCode.Internal, `cannot verify the session: controller answered ${response.status}`);
    return parseVerifyResponse(parseJson(response, 'verify the session'));
  }

  /**
   * Called once at start: the controller answers and accepts the receiver's token (an empty credential check).
   * A wrong token or URL is so reported at once rather than at the first session; and that session does not pay
   * for the first request's set-up (about 60 ms: Node loads its HTTP client on first use).
   */
  async checkController(): Promise<void> {
    await this.invalidCredentials([]);
  }

  /** One call for all open sessions' credentials. */
  async invalidCredentials(credentialIds: readonly string[]): Promise<string[]> {
    const request: CheckCredentialsRequest = { credentialIds: [...credentialIds] };
    const response = await this.post(RECEIVER_API.checkCredentials, request, 'check credentials');
    if (response.status === 401) throw new WireError(ErrorCode.Unauthorized, `the controller rejected the receiver token${reasonOf(response)}`);
    if (!response.ok) throw new WireError(ErrorCode.Internal, `cannot check credentials: controller answered ${response.status}`);
    return parseInvalidCredentials(parseJson(response, 'check credentials'), credentialIds);
  }

  /** Closes the kept-alive connections to the controller. */
  close(): void {
    this.http.close();
  }

  private async post(path: string, body: unknown, doing: string): Promise<HttpJsonResponse> {
    try {
      // Both calls only read: sent again when a kept-alive connection broke under them.
      return await this.http.request({ method: 'POST', path, headers: { authorization: `Bearer ${this.receiverToken}` }, body, idempotent: true });
    } catch (error) {
      throw new WireError(ErrorCode.Internal, `cannot ${doing}: controller unreachable (${(error as Error).message})`);
    }
  }
}

function parseJson(response: HttpJsonResponse, doing: string): unknown {
  try {
    return JSON.parse(response.text) as unknown;
  } catch {
    throw new WireError(ErrorCode.Internal, `cannot ${doing}: controller sent invalid JSON`);
  }
}

/** The controller's one-line message (e.g. "agent credential revoked"), as ": message", or nothing. */
function reasonOf(response: HttpJsonResponse): string {
  try {
    const message = (JSON.parse(response.text) as { message?: unknown }).message;
    return typeof message === 'string' && message !== '' ? `: ${message.slice(0, 200)}` : '';
  } catch {
    return '';
  }
}
