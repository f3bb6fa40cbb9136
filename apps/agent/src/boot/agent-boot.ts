/**
 * Boot: enroll when no credential is stored, fetch the agent configuration from the controller (queue,
 * Redis, receiver), start the worker. A controller that is not up yet is waited for (with backoff), so
 * agents may start before the controller; a refused credential is fatal and says what to do.
 */
import { type AgentConfigResponse } from '@berth/contracts';
import { startHelperThreads } from '../backup/helper-threads';
import { SentLedger } from '../backup/resend-tracker';
import { type AgentConfig } from '../config/agent-config';
import { CredentialStore, type StoredCredential } from '../controller/credential-store';
import { HttpControllerClient } from '../controller/controller-client';
import { AgentError, AgentErrorCode, errorMessage } from '../errors/agent-error';
import { SocketReceiverConnector } from '../receiver/receiver-connector';
import { type Logger } from '../util/logger';
import { AgentWorker } from '../worker/agent-worker';
import { Heartbeat } from '../worker/heartbeat';

export interface RunningAgent {
  readonly hostId: string;
  readonly hostName: string;
  readonly queueName: string;
  readonly worker: AgentWorker;
  /** Resolves with the reason when the agent must stop on its own: its credential was revoked. */
  readonly refused: Promise<string>;
  stop(): Promise<void>;
}

const RETRY_FIRST_MS = 500;
const RETRY_MAX_MS = 15_000;

export async function bootAgent(config: AgentConfig, log: Logger, signal: AbortSignal): Promise<RunningAgent> {
  const client = new HttpControllerClient(config.controllerUrl, null);
  const store = new CredentialStore(config.stateDir);
  const loaded = await store.load();
  let stored = loaded ?? (await enroll(config, client, store, log, signal));
  if (stored.controllerUrl !== config.controllerUrl) {
    log.warn(`credential in ${store.file} was issued by ${stored.controllerUrl}; using it with ${config.controllerUrl}`);
  }
  client.useCredential(stored.credential);
  let agentConfig: AgentConfigResponse;
  try {
    agentConfig = await fetchConfig(client, store, log, signal);
  } catch (error) {
    // A revoked host is let in again with a new secret (berth host reenroll): it replaces the stored credential.
    const refused = error instanceof AgentError && error.code === AgentErrorCode.CredentialRefused;
    if (!refused || loaded === null || config.enrollmentSecret === null) throw error;
    log.warn(`the stored credential was refused (${error.message}); enrolling again with the given secret`);
    stored = await enroll(config, client, store, log, signal);
    client.useCredential(stored.credential);
    agentConfig = await fetchConfig(client, store, log, signal);
  }
  let refuse: (reason: string) => void = () => undefined;
  const refused = new Promise<string>((resolve) => (refuse = resolve));
  const worker = new AgentWorker({
    queueName: agentConfig.queueName,
    queuePrefix: agentConfig.queuePrefix,
    redisUrl: agentConfig.redisUrl,
    redisUsername: agentConfig.redisUsername,
    // Redis refusing our login is how a revoked agent learns of it while idle; the controller confirms.
    onLoginRefused: () => void confirmRefusal(client, store).then((reason) => reason !== null && refuse(reason)),
    concurrency: config.concurrency,
    deps: {
      controller: client,
      connector: new SocketReceiverConnector(agentConfig.receiver),
      hostId: agentConfig.hostId,
      credential: stored.credential,
      log,
      sentLedger: new SentLedger(),
    },
  });
  await untilWorkerReady(worker, agentConfig.redisUrl, log, signal);
  const heartbeat = new Heartbeat(client, worker, agentConfig.heartbeatMs, log);
  heartbeat.start();
  startHelperThreads(log);
  log.info(`berth agent for host ${agentConfig.hostName} waiting for jobs on queue ${agentConfig.queuePrefix}:${agentConfig.queueName}`);
  return {
    hostId: agentConfig.hostId,
    hostName: agentConfig.hostName,
    queueName: agentConfig.queueName,
    worker,
    refused,
    stop: async () => {
      await heartbeat.stop();
      await worker.close();
      client.close();
    },
  };
}

/** Asks the controller whether this agent's credential still counts: the reason when it does not, else null. */
async function confirmRefusal(client: HttpControllerClient, store: CredentialStore): Promise<string | null> {
  try {
    await client.config();
    return null;
  } catch (error) {
    if (error instanceof AgentError && error.code === AgentErrorCode.CredentialRefused) {
      return `the controller refused this agent's credential (${error.message}); remove ${store.file} and enroll again with --enroll-secret`;
    }
    return null;
  }
}

async function enroll(config: AgentConfig, client: HttpControllerClient, store: CredentialStore, log: Logger, signal: AbortSignal): Promise<StoredCredential> {
  if (config.enrollmentSecret === null) {
    throw new AgentError(
      AgentErrorCode.Enrollment,
      `not enrolled yet (no ${store.file}): pass --enroll-secret SECRET or set BERTH_ENROLLMENT_SECRET (the secret "berth host add" printed)`,
    );
  }
  const secret = config.enrollmentSecret;
  let enrolled;
  try {
    enrolled = await untilAvailable(() => client.enroll({ enrollmentSecret: secret }), log, signal);
  } catch (error) {
    if (error instanceof AgentError && (error.code === AgentErrorCode.ControllerRejected || error.code === AgentErrorCode.CredentialRefused)) {
      throw new AgentError(AgentErrorCode.Enrollment, `enrollment refused (${error.message}); the secret is shown once and works once: ask for a new one`);
    }
    throw error;
  }
  const credential: StoredCredential = {
    controllerUrl: config.controllerUrl,
    hostId: enrolled.hostId,
    hostName: enrolled.hostName,
    credential: enrolled.credential,
    enrolledAt: new Date().toISOString(),
  };
  await store.save(credential);
  log.info(`enrolled as host ${enrolled.hostName} (${enrolled.hostId}); credential stored in ${store.file}`);
  return credential;
}

async function fetchConfig(client: HttpControllerClient, store: CredentialStore, log: Logger, signal: AbortSignal): Promise<AgentConfigResponse> {
  try {
    return await untilAvailable(() => client.config(), log, signal);
  } catch (error) {
    if (error instanceof AgentError && error.code === AgentErrorCode.CredentialRefused) {
      throw new AgentError(
        AgentErrorCode.CredentialRefused,
        `the controller refused this agent's credential (${error.message}); remove ${store.file} and enroll again with --enroll-secret`,
      );
    }
    throw error;
  }
}

/** Waits for the worker's Redis connection (retried by ioredis for as long as it takes), unless stopped. */
async function untilWorkerReady(worker: AgentWorker, redisUrl: string, log: Logger, signal: AbortSignal): Promise<void> {
  const slow = setTimeout(() => log.warn(`waiting for Redis at ${redactUrl(redisUrl)}`), 5_000);
  const stopped = new Promise<'stopped'>((resolve) => {
    if (signal.aborted) resolve('stopped');
    signal.addEventListener('abort', () => resolve('stopped'), { once: true });
  });
  try {
    const outcome = await Promise.race([worker.waitUntilReady().then(() => 'ready' as const), stopped]);
    if (outcome === 'stopped') {
      await worker.close();
      throw new AgentError(AgentErrorCode.Interrupted, 'stopped while waiting for Redis');
    }
  } finally {
    clearTimeout(slow);
  }
}

/** A Redis URL without its password, for logs. */
function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'the configured URL';
  }
}

/** Retries while the controller is unreachable, with backoff, until it answers or the agent is stopped. */
async function untilAvailable<T>(call: () => Promise<T>, log: Logger, signal: AbortSignal): Promise<T> {
  let delay = RETRY_FIRST_MS;
  for (let tries = 1; ; tries++) {
    if (signal.aborted) throw new AgentError(AgentErrorCode.Interrupted, 'stopped while waiting for the controller');
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof AgentError) || error.code !== AgentErrorCode.ControllerUnavailable) throw error;
      if (tries === 1 || tries % 10 === 0) log.warn(`${errorMessage(error)}; retrying`);
    }
    await sleep(delay, signal);
    delay = Math.min(delay * 2, RETRY_MAX_MS);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
