import { Repository, type RepositoryApi } from '@berth/repository';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type SlotPolicy } from '../../src/admission/slot-policy';
import { DEFAULT_LIMITS, type ReceiverLimits } from '../../src/config/receiver-config';
import { Receiver } from '../../src/server/receiver';
import { type Logger } from '../../src/util/logger';
import { StaticVerifier } from './static-verifier';
import { waitFor } from './wait-for';

export interface ReceiverFixture {
  readonly receiver: Receiver;
  readonly repository: Repository;
  readonly verifier: StaticVerifier;
  readonly port: number;
  readonly logs: string[];
  readonly dir: string;
  /** Resolves once the receiver logged the successful end of a backup session of the run (a little after Done). */
  sessionEnded(runId: string): Promise<void>;
  stop(): Promise<void>;
}

/** A receiver on a free loopback port over a fresh repository in a temporary directory. */
export interface FixtureOptions {
  /** Puts an injected fault between the receiver and the repository (e.g. held flushes). */
  readonly wrap?: (repository: RepositoryApi) => RepositoryApi;
  /** Default: a fixed number of slots, limits.maxSessions. */
  readonly slotPolicy?: SlotPolicy;
  /** How often open sessions' credentials are checked again (default: the receiver's). */
  readonly credentialCheckMs?: number;
  /** Opens the repository at this path instead of a fresh one, and leaves it in place at stop(). */
  readonly repositoryDir?: string;
}

export async function startReceiver(limits: Partial<ReceiverLimits> = {}, options: FixtureOptions = {}): Promise<ReceiverFixture> {
  const verifier = new StaticVerifier();
  const dir = await mkdtemp(join(tmpdir(), 'berth-receiver-test-'));
  const repository = await Repository.open(options.repositoryDir ?? join(dir, 'repo'));
  const logs: string[] = [];
  const logger: Logger = { info: (line) => logs.push(line), error: (line) => logs.push(line) };
  const receiver = new Receiver({
    repository: options.wrap?.(repository) ?? repository,
    verifier,
    limits: { ...DEFAULT_LIMITS, ...limits },
    logger,
    ...(options.slotPolicy ? { slotPolicy: options.slotPolicy } : {}),
    ...(options.credentialCheckMs === undefined ? {} : { credentialCheckMs: options.credentialCheckMs }),
  });
  const address = await receiver.listen('127.0.0.1', 0);
  return {
    receiver,
    repository,
    verifier,
    port: address.port,
    logs,
    dir,
    sessionEnded: (runId) => waitFor(() => logs.some((line) => line.includes(` end host=`) && line.includes(` run=${runId} role=backup reason=ok `)), `the end of run ${runId}'s session`),
    async stop() {
      await receiver.close();
      await repository.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
