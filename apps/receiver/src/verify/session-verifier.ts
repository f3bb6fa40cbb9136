import { type VerifySessionRequest, type VerifySessionResponse } from '@berth/contracts';

/**
 * Decides whether a Hello may open a session. Throws a WireError with code unauthorized (bad credential),
 * forbidden (not this host's run, or no such run) or internal (cannot tell right now).
 */
export interface SessionVerifier {
  verify(request: VerifySessionRequest): Promise<VerifySessionResponse>;
  /**
   * Of these credential ids (of open sessions), the ones that are no longer valid (revoked): their sessions must
   * end. Throws when the controller cannot tell right now (sessions then go on until the next check).
   */
  invalidCredentials(credentialIds: readonly string[]): Promise<string[]>;
}
