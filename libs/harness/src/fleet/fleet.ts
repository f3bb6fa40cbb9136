import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { type CreateHostRequest, type CreateHostResponse, type HostResponse } from '@berth/contracts';
import { ensureLocalStack, freePort, migrateDatabase } from '@berth/local-stack';
import { type ServiceProcess } from '../process/service-process';
import { type AgentHandle, startAgent } from '../services/agent';
import { type ControllerHandle, startController } from '../services/controller';
import { type ReceiverHandle, startReceiver } from '../services/receiver';
import { createScratchDatabase, type ScratchDatabase } from './database';
import { HarnessApi } from './harness-api';

export interface FleetOptions {
  /** Logs, the repository and agent state go here (created if missing). */
  readonly workDir: string;
  /** PostgreSQL and Redis to use; default: ensureLocalStack() (reachable DATABASE_URL/REDIS_URL, else local ones). */
  readonly stack?: { readonly databaseUrl: string; readonly redisUrl: string };
  /** Default true: a fresh database on that server, migrated now and dropped by stop(). */
  readonly uniqueDatabase?: boolean;
  /**
   * An already migrated database to use as is, e.g. `(await createTestDatabase()).url` in a Jest suite (a
   * clone of the run's template: faster than migrating). The fleet neither migrates nor drops it.
   */
  readonly migratedDatabaseUrl?: string;
  /** Part of the unique database's name ([a-z0-9_]), to tell suites apart. */
  readonly databasePrefix?: string;
  readonly controllerEnv?: Readonly<Record<string, string>>;
  readonly receiverEnv?: Readonly<Record<string, string>>;
  readonly agentEnv?: Readonly<Record<string, string>>;
  readonly readyTimeoutMs?: number;
}

export interface HostWithAgent {
  readonly host: HostResponse;
  readonly enrollmentSecret: string;
  readonly agent: AgentHandle;
}

export interface Fleet {
  readonly workDir: string;
  readonly logDir: string;
  readonly repositoryDir: string;
  readonly databaseUrl: string;
  readonly redisUrl: string;
  readonly receiverToken: string;
  readonly controller: ControllerHandle;
  readonly receiver: ReceiverHandle;
  readonly api: HarnessApi;
  /** Running agents by name. */
  readonly agents: ReadonlyMap<string, AgentHandle>;
  addHost(request: CreateHostRequest): Promise<CreateHostResponse>;
  /** Starts an agent named `name` (its state dir and log are named after it); the secret is needed only the first time. */
  startAgent(name: string, enrollmentSecret?: string): Promise<AgentHandle>;
  /** POST /hosts, then start that host's agent with the enrollment secret. */
  addHostWithAgent(request: CreateHostRequest): Promise<HostWithAgent>;
  /** Stops and starts the receiver on the same port and repository (e.g. to test resume). */
  restartReceiver(signal?: NodeJS.Signals): Promise<ReceiverHandle>;
  /** Stops everything this fleet started, agents first; safe to call twice. */
  stop(): Promise<void>;
}

type Stoppable = { name: string; stop: () => Promise<unknown> };

/**
 * Controller, receiver and agents as real processes on a database of their own. Whatever fails half-way,
 * what was started is stopped before the error propagates.
 */
export async function startFleet(options: FleetOptions): Promise<Fleet> {
  const workDir = path.resolve(options.workDir);
  const logDir = path.join(workDir, 'logs');
  const repositoryDir = path.join(workDir, 'repository');
  await fs.mkdir(logDir, { recursive: true });
  const stoppers: Stoppable[] = [];
  const stopAll = async (): Promise<void> => {
    const errors: unknown[] = [];
    while (stoppers.length > 0) {
      const next = stoppers.pop();
      if (next === undefined) break;
      try {
        await next.stop();
      } catch (error) {
        errors.push(new Error(`stopping ${next.name}: ${error instanceof Error ? error.message : String(error)}`));
      }
    }
    if (errors.length > 0) throw new AggregateError(errors, `fleet stop: ${errors.length} problem(s)`);
  };

  try {
    let stack: { readonly databaseUrl: string; readonly redisUrl: string };
    if (options.stack !== undefined) stack = options.stack;
    else {
      const local = await ensureLocalStack();
      stoppers.push({ name: 'local PostgreSQL/Redis', stop: () => local.stop() });
      stack = local;
    }
    let databaseUrl = stack.databaseUrl;
    if (options.migratedDatabaseUrl !== undefined) {
      databaseUrl = options.migratedDatabaseUrl;
    } else {
      if (options.uniqueDatabase !== false) {
        const scratch: ScratchDatabase = await createScratchDatabase(stack.databaseUrl, options.databasePrefix ?? 'fleet');
        stoppers.push({ name: `database ${scratch.name}`, stop: () => scratch.drop() });
        databaseUrl = scratch.url;
      }
      await migrateDatabase(databaseUrl);
    }

    const receiverToken = randomBytes(24).toString('hex');
    const receiverPort = await freePort();
    const controller = await startController({
      databaseUrl,
      redisUrl: stack.redisUrl,
      receiverAddress: { host: '127.0.0.1', port: receiverPort },
      receiverToken,
      logFile: path.join(logDir, 'controller.log'),
      ...(options.controllerEnv ? { env: options.controllerEnv } : {}),
      ...(options.readyTimeoutMs !== undefined ? { readyTimeoutMs: options.readyTimeoutMs } : {}),
    });
    stoppers.push({ name: 'controller', stop: () => controller.stop() });

    const receiverOptions = {
      controllerUrl: controller.url,
      receiverToken,
      repositoryDir,
      port: receiverPort,
      logFile: path.join(logDir, 'receiver.log'),
      ...(options.receiverEnv ? { env: options.receiverEnv } : {}),
      ...(options.readyTimeoutMs !== undefined ? { readyTimeoutMs: options.readyTimeoutMs } : {}),
    };
    let receiver = await startReceiver(receiverOptions);
    stoppers.push({ name: 'receiver', stop: () => receiver.stop() });

    const api = new HarnessApi(controller.url, controller.adminToken);
    // After the agents stop: their credentials are revoked, so the controller deletes the hosts' Redis ACL users,
    // which would otherwise outlive the fleet's database in a shared Redis. Best effort: the controller may be down.
    stoppers.push({ name: 'agent credentials', stop: () => revokeAllCredentials(api).catch(() => undefined) });
    const agents = new Map<string, AgentHandle>();
    stoppers.push({
      name: 'agents',
      stop: async () => {
        await Promise.all([...agents.values()].map((agent) => agent.stop()));
        agents.clear();
      },
    });

    const startNamedAgent = async (name: string, enrollmentSecret?: string): Promise<AgentHandle> => {
      if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new Error(`agent name "${name}" must be made of letters, digits, ".", "_" and "-"`);
      if (agents.has(name)) throw new Error(`an agent named ${name} is already running in this fleet`);
      const agent = await startAgent({
        controllerUrl: controller.url,
        stateDir: path.join(workDir, 'agents', name),
        logFile: path.join(logDir, `agent-${name}.log`),
        label: `agent ${name}`,
        ...(enrollmentSecret !== undefined ? { enrollmentSecret } : {}),
        ...(options.agentEnv ? { env: options.agentEnv } : {}),
        ...(options.readyTimeoutMs !== undefined ? { readyTimeoutMs: options.readyTimeoutMs } : {}),
      });
      agents.set(name, agent);
      void agent.process.exited.then(() => {
        if (agents.get(name) === agent) agents.delete(name);
      });
      return agent;
    };

    let stopped: Promise<void> | null = null;
    const fleet: Fleet = {
      workDir,
      logDir,
      repositoryDir,
      databaseUrl,
      redisUrl: stack.redisUrl,
      receiverToken,
      controller,
      get receiver() {
        return receiver;
      },
      api,
      agents,
      addHost: (request) => api.createHost(request),
      startAgent: startNamedAgent,
      async addHostWithAgent(request) {
        const created = await api.createHost(request);
        const agent = await startNamedAgent(created.host.name, created.enrollmentSecret);
        return { host: created.host, enrollmentSecret: created.enrollmentSecret, agent };
      },
      async restartReceiver(signal = 'SIGTERM') {
        await receiver.stop(signal);
        receiver = await startReceiver(receiverOptions);
        return receiver;
      },
      stop() {
        stopped ??= reportUnaskedExits([controller.process, receiver.process])
          .catch(() => undefined)
          .then(stopAll);
        return stopped;
      },
    };
    return fleet;
  } catch (error) {
    await stopAll().catch(() => undefined);
    throw error;
  }
}

/**
 * The controller and the receiver never end by themselves in a fleet: when one did, its log's end goes to stderr
 * (the test's own failure then says only what its clients saw, e.g. a refused connection).
 */
async function reportUnaskedExits(services: readonly ServiceProcess[]): Promise<void> {
  for (const service of services) {
    if (service.exitedUnasked) process.stderr.write(`${await service.describeFailure('ended by itself while the fleet ran')}\n`);
  }
}

async function revokeAllCredentials(api: HarnessApi): Promise<void> {
  const hosts = await api.request<HostResponse[]>('GET', '/hosts');
  // Only hosts whose agent enrolled have credentials (and a Redis user); a large simulated fleet mostly has none.
  for (const host of hosts.filter((candidate) => candidate.enrolled)) await api.request('POST', `/hosts/${host.id}/credentials/revoke`);
}
