/**
 * Berth as the benchmark runs it: controller, receiver and one agent as real processes (libs/harness), the
 * receiver writing a real repository with its fsyncs. On loopback through startFleet; for case 4 composed by
 * hand, the receiver inside the link's namespace and the controller on the link's host address (the receiver
 * must reach it to verify sessions; the agent reaches it locally).
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import {
  type ControllerHandle,
  HarnessApi,
  ServiceProcess,
  canConnect,
  createScratchDatabase,
  freePort,
  startAgent,
  startController,
  startFleet,
} from '@berth/harness';
import { migrateDatabase } from '@berth/local-stack';
import { type Link } from './link';
import { childrenOf } from './proc-stats';

export interface Stack {
  readonly databaseUrl: string;
  readonly redisUrl: string;
}

export interface BerthUnderTest {
  readonly api: HarnessApi;
  readonly hostId: string;
  readonly repositoryDir: string;
  /** Process ids to sample; the receiver's is the node process itself, also inside the namespace. */
  pids(): { readonly controller: number; readonly receiver: number; readonly agent: number };
  /** The controller runs with the profile hook too (profile mode). */
  readonly controllerProfiled: boolean;
  agentLog(): Promise<string>;
  receiverLog(): Promise<string>;
  stop(): Promise<void>;
}

const HOST_NAME = 'bench-host';

export interface FleetSetup {
  readonly workDir: string;
  readonly stack: Stack;
  /** Paths the host backs up. */
  readonly paths: readonly string[];
  /** Agent, receiver and controller write CPU profiles into this directory (see cpu-profile-hook.ts), or not at all. */
  readonly profileDir: string | null;
}

/** Environment that preloads cpu-profile-hook.js (profile mode), or undefined. */
async function profileEnvironment(profileDir: string | null): Promise<Record<string, string> | undefined> {
  if (profileDir === null) return undefined;
  await fs.mkdir(profileDir, { recursive: true });
  return { NODE_OPTIONS: `--require ${path.join(__dirname, 'cpu-profile-hook.js')}`, BERTH_BENCH_PROFILE_DIR: profileDir };
}

export async function startLoopbackBerth(setup: FleetSetup): Promise<BerthUnderTest> {
  const serviceEnv = await profileEnvironment(setup.profileDir);
  const fleet = await startFleet({
    workDir: setup.workDir,
    stack: setup.stack,
    databasePrefix: 'bench',
    ...(serviceEnv ? { agentEnv: serviceEnv, receiverEnv: serviceEnv, controllerEnv: serviceEnv } : {}),
  });
  try {
    const { host, agent } = await fleet.addHostWithAgent({ name: HOST_NAME, paths: [...setup.paths] });
    return {
      api: fleet.api,
      hostId: host.id,
      repositoryDir: fleet.repositoryDir,
      pids: () => ({ controller: fleet.controller.pid, receiver: fleet.receiver.pid, agent: agent.pid }),
      controllerProfiled: serviceEnv !== undefined,
      agentLog: () => agent.logs(),
      receiverLog: () => fleet.receiver.logs(),
      stop: () => fleet.stop(),
    };
  } catch (error) {
    await fleet.stop().catch(() => undefined);
    throw error;
  }
}

/** Case 4: the receiver across the shaped link. */
export async function startLinkBerth(setup: FleetSetup, link: Link): Promise<BerthUnderTest> {
  const logDir = path.join(setup.workDir, 'logs');
  const repositoryDir = path.join(setup.workDir, 'repository');
  await fs.mkdir(logDir, { recursive: true });
  const stoppers: (() => Promise<unknown>)[] = [];
  const stopAll = async (): Promise<void> => {
    for (const stop of stoppers.reverse()) await stop().catch(() => undefined);
    stoppers.length = 0;
  };
  const serviceEnv = await profileEnvironment(setup.profileDir);
  try {
    const database = await createScratchDatabase(setup.stack.databaseUrl, 'bench_link');
    stoppers.push(() => database.drop());
    await migrateDatabase(database.url);
    const receiverToken = randomBytes(24).toString('hex');
    const receiverPort = 7443;
    const controller: ControllerHandle = await startController({
      databaseUrl: database.url,
      redisUrl: setup.stack.redisUrl,
      receiverAddress: { host: link.namespaceAddress, port: receiverPort },
      receiverToken,
      host: link.hostAddress,
      port: await freePort(link.hostAddress),
      logFile: path.join(logDir, 'controller.log'),
      ...(serviceEnv ? { env: serviceEnv } : {}),
    });
    stoppers.push(() => controller.stop());

    const receiver = await ServiceProcess.spawn({
      service: 'receiver',
      entry: path.join(__dirname, 'netns-entry.js'),
      label: 'receiver (in the link namespace)',
      logFile: path.join(logDir, 'receiver.log'),
      env: {
        BERTH_BENCH_NETNS: link.namespace,
        BERTH_CONTROLLER_URL: controller.url,
        BERTH_RECEIVER_TOKEN: receiverToken,
        BERTH_RECEIVER_LISTEN: `${link.namespaceAddress}:${receiverPort}`,
        BERTH_REPOSITORY: repositoryDir,
        ...serviceEnv,
      },
    });
    stoppers.push(() => receiver.stop());
    const deadline = Date.now() + 30_000;
    while (!/listening/i.test(await receiver.log.text()) || !(await canConnect(link.namespaceAddress, receiverPort))) {
      if (!receiver.running || Date.now() > deadline) throw new Error(await receiver.describeFailure('not listening across the link'));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    const api = new HarnessApi(controller.url, controller.adminToken);
    const created = await api.createHost({ name: HOST_NAME, paths: [...setup.paths] });
    const agent = await startAgent({
      controllerUrl: controller.url,
      enrollmentSecret: created.enrollmentSecret,
      stateDir: path.join(setup.workDir, 'agents', HOST_NAME),
      logFile: path.join(logDir, `agent-${HOST_NAME}.log`),
      label: `agent ${HOST_NAME}`,
      ...(serviceEnv ? { env: serviceEnv } : {}),
    });
    stoppers.push(() => agent.stop());
    return {
      api,
      hostId: created.host.id,
      repositoryDir,
      pids: () => ({ controller: controller.pid, receiver: childrenOf(receiver.pid)[0] ?? receiver.pid, agent: agent.pid }),
      controllerProfiled: serviceEnv !== undefined,
      agentLog: () => agent.logs(),
      receiverLog: () => receiver.log.text(),
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
