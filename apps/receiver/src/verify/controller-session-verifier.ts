import { RECEIVER_API, type VerifySessionRequest, type VerifySessionResponse } from '@berth/contracts';
import { ErrorCode, WireError } from '@berth/wire';
import { type SessionVerifier } from './session-verifier';
import { parseVerifyResponse } from './verify-response';

const REQUEST_TIMEOUT_MS = 10_000;

/** Asks the controller's internal API, authenticated with the receiver's own token. */
export class ControllerSessionVerifier implements SessionVerifier {
  constructor(
    private readonly controllerUrl: string,
    private readonly receiverToken: string,
  ) {}

  async verify(request: VerifySessionRequest): Promise<VerifySessionResponse> {
    let response: Response;
    try {
      response = await fetch(`${this.controllerUrl}${RECEIVER_API.verifySession}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${this.receiverToken}`, 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(request),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (error) {
      throw new WireError(ErrorCode.Internal, `cannot verify the session: controller unreachable (${(error as Error).message})`);
    }
    if (response.status === 401) throw new WireError(ErrorCode.Unauthorized, 'credential rejected');
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
}
