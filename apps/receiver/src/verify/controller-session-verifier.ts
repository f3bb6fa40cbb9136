import { type CheckCredentialsRequest, RECEIVER_API, type VerifySessionRequest, type VerifySessionResponse } from '@berth/contracts';
import { ErrorCode, WireError } from '@berth/wire';
import { type SessionVerifier } from './session-verifier';
import { parseInvalidCredentials, parseVerifyResponse } from './verify-response';

const REQUEST_TIMEOUT_MS = 10_000;

/** Asks the controller's internal API, authenticated with the receiver's own token. */
export class ControllerSessionVerifier implements SessionVerifier {
  constructor(
    private readonly controllerUrl: string,
    private readonly receiverToken: string,
  ) {}

  /** Asked anew for every Hello: nothing is cached, so a revoked credential cannot open a session. */
  async verify(request: VerifySessionRequest): Promise<VerifySessionResponse> {
    const response = await this.post(RECEIVER_API.verifySession, request, 'verify the session');
    if (response.status === 401) throw new WireError(ErrorCode.Unauthorized, `credential rejected${await reasonOf(response)}`);
    if (response.status === 403) throw new WireError(ErrorCode.Forbidden, 'this host may not use this run');
    if (response.status === 404) throw new WireError(ErrorCode.Forbidden, 'no such run for this host');
    if (!response.ok) throw new WireError(ErrorCode.Internal, `cannot verify the session: controller answered ${response.status}`);
    let body: unknown;
    try {
      body = await response.json();
    } catch {
      throw new WireError(ErrorCode.Internal, 'cannot verify the session: controller sent invalid JSON');
    }
    return parseVerifyResponse(body);
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
    if (response.status === 401) throw new WireError(ErrorCode.Unauthorized, `the controller rejected the receiver token${await reasonOf(response)}`);
    if (!response.ok) throw new WireError(ErrorCode.Internal, `cannot check credentials: controller answered ${response.status}`);
    let body: unknown;
    try {
      body = await response.json();
    } catch {
      throw new WireError(ErrorCode.Internal, 'cannot check credentials: controller sent invalid JSON');
    }
    return parseInvalidCredentials(body, credentialIds);
  }

  private async post(path: string, body: unknown, doing: string): Promise<Response> {
    try {
      return await fetch(`${this.controllerUrl}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${this.receiverToken}`, 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (error) {
      throw new WireError(ErrorCode.Internal, `cannot ${doing}: controller unreachable (${(error as Error).message})`);
    }
  }
}

/** The controller's one-line message (e.g. "agent credential revoked"), as ": message", or nothing. */
async function reasonOf(response: Response): Promise<string> {
  try {
    const message = ((await response.json()) as { message?: unknown }).message;
    return typeof message === 'string' && message !== '' ? `: ${message.slice(0, 200)}` : '';
  } catch {
    return '';
  }
}
