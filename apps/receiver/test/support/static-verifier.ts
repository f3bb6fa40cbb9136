import { type VerifySessionRequest, type VerifySessionResponse } from '@berth/contracts';
import { ErrorCode, WireError } from '@berth/wire';
import { type SessionVerifier } from '../../src/verify/session-verifier';

export interface TestHost {
  readonly hostId: string;
  readonly hostName: string;
  readonly credential: string;
  /** Defaults to `credential-<hostId>`. */
  readonly credentialId?: string;
}

export interface TestRun {
  readonly runId: string;
  readonly hostId: string;
  readonly kind: 'backup' | 'restore';
  readonly attempt?: number;
  readonly restore?: VerifySessionResponse['restore'];
}

/** A verifier with a fixed table of hosts and runs, applying the controller's rules. */
export class StaticVerifier implements SessionVerifier {
  readonly hosts = new Map<string, TestHost>();
  readonly runs = new Map<string, TestRun>();
  /** Credential ids invalidCredentials reports (revoked since their sessions began). */
  readonly revoked = new Set<string>();
  calls = 0;
  checks = 0;

  addHost(host: TestHost): this {
    this.hosts.set(host.hostId, host);
    return this;
  }

  addRun(run: TestRun): this {
    this.runs.set(run.runId, run);
    return this;
  }

  invalidCredentials(credentialIds: readonly string[]): Promise<string[]> {
    this.checks += 1;
    return Promise.resolve(credentialIds.filter((id) => this.revoked.has(id)));
  }

  verify(request: VerifySessionRequest): Promise<VerifySessionResponse> {
    this.calls += 1;
    const host = this.hosts.get(request.hostId);
    if (host === undefined || host.credential !== request.credential || this.revoked.has(credentialIdOf(host))) return Promise.reject(new WireError(ErrorCode.Unauthorized, 'credential rejected'));
    const run = this.runs.get(request.runId);
    if (run === undefined || run.hostId !== host.hostId) return Promise.reject(new WireError(ErrorCode.Forbidden, 'no such run for this host'));
    return Promise.resolve({ credentialId: credentialIdOf(host), hostId: host.hostId, hostName: host.hostName, runId: run.runId, kind: run.kind, attempt: run.attempt ?? 1, restore: run.restore ?? null });
  }
}

export function credentialIdOf(host: TestHost): string {
  return host.credentialId ?? `credential-${host.hostId}`;
}
