import { Injectable } from '@nestjs/common';
import { type CheckCredentialsResponse, type VerifySessionResponse } from '@berth/contracts';
import { type CheckCredentialsDto, type VerifySessionDto } from '../dtos/session.dto';
import { DomainError } from '../errors/domain.error';
import { ErrorCode } from '../errors/error-code';
import { CredentialRepository } from '../repositories/credential.repository';
import { RunRepository, type RunSessionState } from '../repositories/run.repository';
import { SnapshotRepository } from '../repositories/snapshot.repository';
import { hashSecret } from '../utils/secret.util';
import { runNotFound } from './run-lookup.util';

/**
 * Answers the receiver's question "may this agent open a session for this run?": the credential is valid and
 * not revoked, it is the claimed host's, the run is that host's and has not ended.
 */
@Injectable()
export class SessionService {
  constructor(
    private readonly credentials: CredentialRepository,
    private readonly runs: RunRepository,
    private readonly snapshots: SnapshotRepository,
  ) {}

  async verify(dto: VerifySessionDto): Promise<VerifySessionResponse> {
    // Both are read at once: a session's start waits for this answer. The run is of no use when the credential is
    // refused, and nothing of it is told then.
    const [credential, run] = await Promise.all([this.credentials.findActiveBySecretHash(hashSecret(dto.credential)), this.runs.findSessionState(dto.runId)]);
    if (credential === null) {
      const revoked = (await this.credentials.findBySecretHash(hashSecret(dto.credential)))?.revokedAt;
      throw new DomainError(ErrorCode.InvalidCredential, revoked ? 'agent credential revoked' : 'Unknown agent credential');
    }
    if (credential.hostId !== dto.hostId) {
      throw new DomainError(ErrorCode.WrongHost, `The credential belongs to host ${credential.host.name}, not to ${dto.hostId}`);
    }
    if (run === null) throw runNotFound(dto.runId);
    if (run.hostId !== credential.hostId) {
      throw new DomainError(ErrorCode.WrongHost, `Run ${run.id} belongs to another host than ${credential.host.name}`);
    }
    if (run.status !== 'queued' && run.status !== 'running') {
      throw new DomainError(ErrorCode.RunNotActive, `Run ${run.id} is ${run.status}; no session can be opened for it`);
    }
    return {
      credentialId: credential.id,
      hostId: credential.hostId,
      hostName: credential.host.name,
      runId: run.id,
      kind: run.kind,
      attempt: run.attempts,
      restore: await this.restoreSource(run),
    };
  }

  /** The receiver's periodic question about its open sessions: which of their credentials must no longer be used. */
  async checkCredentials(dto: CheckCredentialsDto): Promise<CheckCredentialsResponse> {
    return { invalid: await this.credentials.invalidAmong(dto.credentialIds) };
  }

  /** Restore runs: the snapshot the agent may read and the host that owns it (possibly another host). */
  private async restoreSource(run: RunSessionState): Promise<VerifySessionResponse['restore']> {
    if (run.kind !== 'restore') return null;
    const snapshot = run.restoreSnapshotId === null ? null : await this.snapshots.findById(run.restoreSnapshotId);
    if (snapshot === null) {
      throw new DomainError(ErrorCode.SnapshotNotFound, 'The snapshot of this restore run no longer exists');
    }
    return { snapshotId: snapshot.id, sourceHostId: snapshot.hostId, subPath: run.restoreSubPath };
  }
}
