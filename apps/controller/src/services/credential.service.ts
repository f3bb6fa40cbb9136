import { Injectable, Logger } from '@nestjs/common';
import { type AgentCredentialResponse, type EnrollmentSecretResponse, type RevokeCredentialsResponse } from '@berth/contracts';
import { mapCredential, mapEnrollmentSecret } from '../dtos/credential.dto';
import { DomainError } from '../errors/domain.error';
import { ErrorCode } from '../errors/error-code';
import { CredentialRepository } from '../repositories/credential.repository';
import { HostRepository } from '../repositories/host.repository';
import { QueueRepository } from '../repositories/queue.repository';
import { RunRepository } from '../repositories/run.repository';
import { generateEnrollmentSecret, hashSecret } from '../utils/secret.util';
import { isUuid } from '../utils/uuid.util';
import { AgentAccessService } from './agent-access.service';
import { HostService } from './host.service';

/** Why a revoked agent's runs end; the agent's own reports are refused from then on. */
export const CREDENTIAL_REVOKED_REASON = 'agent credential revoked';

/** Running runs of one host looked at when its last credential is revoked (a host runs one at a time). */
const RUNNING_RUNS_MAX = 100;

/**
 * Agent credentials as the admin sees them: listed without secrets, revoked (all of a host's, or one), and a new
 * one-time enrollment secret for a host whose agent must enroll again.
 */
@Injectable()
export class CredentialService {
  private readonly logger = new Logger('Credentials');

  constructor(
    private readonly hostService: HostService,
    private readonly hosts: HostRepository,
    private readonly credentials: CredentialRepository,
    private readonly runs: RunRepository,
    private readonly queues: QueueRepository,
    private readonly access: AgentAccessService,
  ) {}

  async list(idOrName: string): Promise<AgentCredentialResponse[]> {
    const host = await this.hostService.findOrThrow(idOrName);
    return (await this.credentials.listForHost(host.id)).map(mapCredential);
  }

  /**
   * Revokes the host's credentials (or one of them). At once: the agent API and new receiver sessions refuse them,
   * their Redis logins fail and open Redis connections are closed; the receiver ends open sessions at its next
   * check (seconds). When the host has no valid credential left, its running runs fail for good, in BullMQ too.
   */
  async revoke(idOrName: string, credentialId?: string): Promise<RevokeCredentialsResponse> {
    const host = await this.hostService.findOrThrow(idOrName);
    if (credentialId !== undefined) {
      const credential = isUuid(credentialId) ? await this.credentials.findById(credentialId) : null;
      if (credential === null || credential.hostId !== host.id) {
        throw new DomainError(ErrorCode.NotFound, `Host "${host.name}" has no credential ${credentialId}`);
      }
    }
    const now = new Date();
    const revoked = await this.credentials.revoke(host.id, now, credentialId);
    await this.access.withdraw(host.id);
    const stillValid = (await this.credentials.activeHashes(host.id)).length > 0;
    const failedRuns = revoked.length > 0 && !stillValid ? await this.failRunningRuns(host.id, now) : [];
    if (revoked.length > 0) this.logger.log(`host ${host.name}: ${revoked.length} agent credential(s) revoked, ${failedRuns.length} running run(s) failed`);
    return { revoked: revoked.map(mapCredential), failedRuns };
  }

  /** A new one-time enrollment secret for the host (an unused earlier one stops working); credentials stay as they are. */
  async newEnrollmentSecret(idOrName: string): Promise<EnrollmentSecretResponse> {
    const host = await this.hostService.findOrThrow(idOrName);
    const enrollmentSecret = generateEnrollmentSecret();
    await this.hosts.setEnrollmentSecret(host.id, hashSecret(enrollmentSecret));
    return mapEnrollmentSecret(host, enrollmentSecret);
  }

  /** The revoked agent cannot report or touch its queue any more: its jobs are failed here, without retry. */
  private async failRunningRuns(hostId: string, at: Date): Promise<string[]> {
    const failed: string[] = [];
    for (const run of await this.runs.list({ hostId, status: 'running', limit: RUNNING_RUNS_MAX })) {
      try {
        await this.queues.failActiveJob(hostId, run.id, CREDENTIAL_REVOKED_REASON);
      } catch (error) {
        // The reconciler fails the run later from BullMQ's state; the run row is ended here anyway.
        this.logger.warn(`run ${run.id}: could not fail its job in BullMQ: ${error instanceof Error ? error.message : String(error)}`);
      }
      const ended = await this.runs.settle(run.id, {
        expected: { status: 'running', attempts: run.attempts },
        status: 'failed',
        error: CREDENTIAL_REVOKED_REASON,
        attempt: { outcome: 'failed', endReason: CREDENTIAL_REVOKED_REASON, endedAt: at },
        at,
      });
      if (ended) failed.push(run.id);
    }
    return failed;
  }
}
