import { type VerifySessionRequest, type VerifySessionResponse } from '@berth/contracts';
import { ErrorCode, WireError } from '@berth/wire';
import { type SessionVerifier } from '../../src/verify/session-verifier';

export interface TestHost {
  readonly hostId: string;
  readonly hostName: string;
  readonly credential: string;
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
  calls = 0;

  addHost(host: TestHost): this {
    this.hosts.set(host.hostId, host);
    return this;
  }

  addRun(run: TestRun): this {
    this.runs.set(run.runId, run);
    return this;
  }

  verify(request: VerifySessionRequest): Promise<VerifySessionResponse> {
    this.calls += 1;
    const host = this.hosts.get(request.hostId);
    if (host === undefined || host.credential !== request.credential) return Promise.reject(new WireError(ErrorCode.Unauthorized, 'credential rejected'));
    const run = this.runs.get(request.runId);
    if (run === undefined || run.hostId !== host.hostId) return Promise.reject(new WireError(ErrorCode.Forbidden, 'no such run for this host'));
    return Promise.resolve({ hostId: host.hostId, hostName: host.hostName, runId: run.runId, kind: run.kind, attempt: run.attempt ?? 1, restore: run.restore ?? null });
  }
}
