import { type VerifySessionRequest, type VerifySessionResponse } from '@berth/contracts';

/**
 * Decides whether a Hello may open a session. Throws a WireError with code unauthorized (bad credential),
 * forbidden (not this host's run, or no such run) or internal (cannot tell right now).
 */
export interface SessionVerifier {
  verify(request: VerifySessionRequest): Promise<VerifySessionResponse>;
}
