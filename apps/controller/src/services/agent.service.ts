import { Injectable } from '@nestjs/common';
import {
  AGENT_API,
  type AgentConfigResponse,
  type EnrollResponse,
  type HeartbeatResponse,
  hostQueueName,
  QUEUE_PREFIX,
  type RunProgressResponse,
  type RunResponse,
  type RunStartResponse,
  TERMINAL_RUN_STATUSES,
} from '@berth/contracts';
import { ControllerConfig } from '../config/controller-config';
import { type EnrollDto, type HeartbeatDto, mapAgentConfig, mapEnrollment, mapRunStart, type RunFinishDto, type RunProgressDto } from '../dtos/agent.dto';
import { mapRun } from '../dtos/run.dto';
import { DomainError } from '../errors/domain.error';
import { ErrorCode } from '../errors/error-code';
import { isUniqueViolation } from '../errors/prisma-errors';
import { CredentialRepository } from '../repositories/credential.repository';
import { HostRepository } from '../repositories/host.repository';
import { type RunRecord, RunRepository, type RunState } from '../repositories/run.repository';
import { toBigInt } from '../utils/bigint.util';
import { generateAgentCredential, hashSecret } from '../utils/secret.util';
import { AgentAccessService } from './agent-access.service';
import { MetricsService } from './metrics.service';
import { counterColumns, planRunEnd } from './run-end.util';
import { RunService } from './run.service';
import { WebhookDeliveryService } from './webhook-delivery.service';
import { findRunOrThrow } from './run-lookup.util';

/** Who is calling the agent API, established by AgentAuthGuard from the bearer credential. */
export interface AgentIdentity {
  credentialId: string;
  hostId: string;
  hostName: string;
}

/** lastUsedAt / lastSeenAt are written at most this often per credential, not on every progress report. */
const TOUCH_INTERVAL_MS = 60_000;

@Injectable()
export class AgentService {
  constructor(
    private readonly controllerConfig: ControllerConfig,
    private readonly hosts: HostRepository,
    private readonly credentials: CredentialRepository,
    private readonly runs: RunRepository,
    private readonly runService: RunService,
    private readonly metrics: MetricsService,
    private readonly webhooks: WebhookDeliveryService,
    private readonly access: AgentAccessService,
  ) {}

  /** Exchanges the host's one-time enrollment secret for a long-lived credential. */
  async enroll(dto: EnrollDto): Promise<EnrollResponse> {
    const credential = generateAgentCredential();
    const enrolled = await this.hosts.enroll(hashSecret(dto.enrollmentSecret), hashSecret(credential));
    if (enrolled === null) {
      throw new DomainError(ErrorCode.InvalidEnrollmentSecret, 'Unknown or already used enrollment secret; create a new one for this host');
    }
    // Before answering: the agent logs in to Redis with the new credential right away.
    await this.access.grant(enrolled.host.id);
    return mapEnrollment(enrolled.host, credential, this.access.redisAccess(enrolled.host.id).username);
  }

  async authenticate(credential: string | null): Promise<AgentIdentity> {
    const found = credential === null ? null : await this.credentials.findActiveBySecretHash(hashSecret(credential));
    if (found === null) throw await this.refusal(credential);
    const now = new Date();
    if (found.lastUsedAt === null || now.getTime() - found.lastUsedAt.getTime() >= TOUCH_INTERVAL_MS) {
      await this.credentials.touch(found.id, now);
      await this.hosts.markSeen(found.hostId, now);
    }
    return { credentialId: found.id, hostId: found.hostId, hostName: found.host.name };
  }

  async agentConfig(agent: AgentIdentity): Promise<AgentConfigResponse> {
    const host = await this.hosts.markSeen(agent.hostId, new Date());
    const { receiver } = this.controllerConfig;
    return mapAgentConfig(
      host,
      { name: hostQueueName(host.id), prefix: QUEUE_PREFIX },
      this.access.redisAccess(host.id),
      { host: receiver.address.host, port: receiver.address.port, tls: receiver.tls, caPem: receiver.caPem, serverName: receiver.serverName },
      this.controllerConfig.liveness.heartbeatMs,
    );
  }

  /**
   * The agent is alive: its host is online as of now. The answer names the runs it holds that an operator asked
   * to cancel (the agent stops them) and when to beat next.
   */
  async heartbeat(agent: AgentIdentity, dto: HeartbeatDto): Promise<HeartbeatResponse> {
    await this.hosts.markSeen(agent.hostId, new Date());
    // An idle agent (the usual case) costs one update; only runs it holds can be stopped by it.
    const held = new Set(dto.runIds);
    const cancelRunIds = held.size === 0 ? [] : (await this.runs.listCancelRequested(agent.hostId)).filter((id) => held.has(id));
    return { cancelRunIds, heartbeatMs: this.controllerConfig.liveness.heartbeatMs };
  }

  /** A job of this run was taken by the agent: one more attempt, status running. */
  async startRun(agent: AgentIdentity, runId: string): Promise<RunStartResponse> {
    const run = await this.ownRun(agent, runId);
    refuseIfFinished(run);
    const started = await this.runs.startAttempt(run.id, new Date());
    if (started === null) {
      refuseIfFinished(await this.ownRun(agent, run.id));
      throw finished(run.id);
    }
    return mapRunStart(started);
  }

  /** Stores the counters and checkpoint; the answer tells the agent whether an operator asked to cancel the run. */
  async recordProgress(agent: AgentIdentity, runId: string, dto: RunProgressDto): Promise<RunProgressResponse> {
    const run = await this.ownRun(agent, runId);
    refuseUnlessRunning(run);
    const progress = {
      counters: counterColumns(dto.counters),
      ...(dto.checkpoint === undefined ? {} : { checkpoint: dto.checkpoint }),
      ...(dto.bytesResent === undefined ? {} : { bytesResent: toBigInt(dto.bytesResent) }),
    };
    if (!(await this.runs.recordProgress(run.id, progress, new Date()))) {
      refuseUnlessRunning(await this.ownRun(agent, run.id));
    }
    return { cancelRequested: run.cancelRequestedAt !== null };
  }

  async finishRun(agent: AgentIdentity, runId: string, dto: RunFinishDto): Promise<RunResponse> {
    const run = await this.ownRun(agent, runId);
    // A repeated report of the outcome already stored (the agent did not see our answer) changes nothing.
    if (run.status === dto.status && run.finishedAt !== null) {
      const stored = await this.runService.findOrThrow(run.id);
      if (dto.snapshot === undefined || stored.snapshot?.id === dto.snapshot.id) return mapRun(stored);
    }
    refuseUnlessRunning(run);
    const end = planRunEnd(run.kind, dto, new Date(), run.cancelRequestedAt === null ? null : (run.error ?? 'canceled at the request of an operator'));
    let ended: RunRecord | null;
    try {
      ended = await this.runs.end(run.id, end, run.hostId);
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw new DomainError(ErrorCode.AlreadyExists, `Snapshot ${end.snapshot?.id ?? ''} already exists`);
      }
      throw error;
    }
    if (ended === null) {
      refuseUnlessRunning(await this.ownRun(agent, run.id));
      throw finished(run.id);
    }
    if (ended.finishedAt !== null) this.metrics.observeRunFinished(ended);
    // A failed attempt the agent will retry came back as queued: only a run that ends failed is announced.
    if (ended.status === 'failed') await this.webhooks.runFailed(ended.id);
    return mapRun(ended);
  }

  /** Says whether the credential was revoked (the agent must enroll again) or is unknown. */
  private async refusal(credential: string | null): Promise<DomainError> {
    const known = credential === null ? null : await this.credentials.findBySecretHash(hashSecret(credential));
    if (known?.revokedAt) {
      return new DomainError(ErrorCode.InvalidCredential, `Agent credential revoked at ${known.revokedAt.toISOString()}; enroll the agent again (berth host reenroll)`);
    }
    return new DomainError(ErrorCode.InvalidCredential, 'Missing or unknown agent credential');
  }

  /** The run's state (one statement: each agent call starts with this), refused unless it is this agent's host's. */
  private async ownRun(agent: AgentIdentity, runId: string): Promise<RunState> {
    const run = await findRunOrThrow(runId, (id) => this.runs.findState(id));
    if (run.hostId !== agent.hostId) {
      throw new DomainError(ErrorCode.WrongHost, `Run ${run.id} belongs to another host than ${agent.hostName}`);
    }
    return run;
  }
}

function refuseUnlessRunning(run: Pick<RunState, 'id' | 'status' | 'error'>): void {
  refuseIfFinished(run);
  if (run.status !== 'running') {
    throw new DomainError(ErrorCode.RunNotStarted, `Run ${run.id} is ${run.status}; start it first (POST ${AGENT_API.runStart(run.id)})`);
  }
}

function finished(runId: string): DomainError {
  return new DomainError(ErrorCode.RunFinished, `Run ${runId} has already ended; its job must not run again`);
}

function refuseIfFinished(run: Pick<RunState, 'id' | 'status' | 'error'>): void {
  if (run.status === 'canceled') throw new DomainError(ErrorCode.RunFinished, `Run ${run.id} was canceled (${run.error ?? 'at the request of an operator'}); its job must not run again`);
  if (TERMINAL_RUN_STATUSES.includes(run.status)) throw finished(run.id);
}
