import { ServiceProcess } from '../process/service-process';
import { logMatches, waitUntil } from '../process/wait';
import { type ServiceHandle, serviceHandle, stopOnFailure } from './service-handle';

export interface AgentOptions {
  readonly controllerUrl: string;
  /** One-time secret from POST /hosts; not needed once the state directory holds a credential. */
  readonly enrollmentSecret?: string;
  /** Where the agent keeps its credential; one per agent. */
  readonly stateDir: string;
  readonly concurrency?: number;
  readonly logFile: string;
  /** Label in error messages, e.g. the host name. */
  readonly label?: string;
  readonly env?: Readonly<Record<string, string>>;
  readonly readyTimeoutMs?: number;
}

export type AgentHandle = ServiceHandle;

/** Environment of apps/agent/src/config/agent-config.ts. */
export function agentEnvironment(options: AgentOptions): Record<string, string> {
  return {
    BERTH_CONTROLLER_URL: options.controllerUrl,
    BERTH_AGENT_STATE_DIR: options.stateDir,
    ...(options.enrollmentSecret !== undefined ? { BERTH_ENROLLMENT_SECRET: options.enrollmentSecret } : {}),
    ...(options.concurrency !== undefined ? { BERTH_AGENT_CONCURRENCY: String(options.concurrency) } : {}),
    ...options.env,
  };
}

/** Starts `berth agent` and waits for its "waiting for jobs" log line (enrolled, worker running). */
export async function startAgent(options: AgentOptions): Promise<AgentHandle> {
  const service = await ServiceProcess.spawn({ service: 'agent', env: agentEnvironment(options), logFile: options.logFile, label: options.label ?? 'agent' });
  await stopOnFailure(service, waitUntil(service, 'waiting for jobs', logMatches(service, /waiting for jobs/i), options.readyTimeoutMs ?? 30_000));
  return serviceHandle(service);
}
