import { freePort } from '../process/free-port';
import { ServiceProcess } from '../process/service-process';
import { httpAnswers200, waitUntil } from '../process/wait';
import { type ServiceHandle, serviceHandle, stopOnFailure } from './service-handle';

export interface ControllerOptions {
  readonly databaseUrl: string;
  readonly redisUrl: string;
  /** Where agents are told to find the receiver. */
  readonly receiverAddress: { readonly host: string; readonly port: number };
  /** Shared secret of controller and receiver (at least 16 characters). */
  readonly receiverToken: string;
  /** Redis URL handed to agents; defaults to redisUrl. */
  readonly agentRedisUrl?: string;
  readonly host?: string;
  /** Default: a free port. */
  readonly port?: number;
  readonly logFile: string;
  /** Extra or overriding environment (e.g. BERTH_RECEIVER_TLS). */
  readonly env?: Readonly<Record<string, string>>;
  readonly readyTimeoutMs?: number;
}

export interface ControllerHandle extends ServiceHandle {
  readonly url: string;
  readonly host: string;
  readonly port: number;
}

/** Environment of apps/controller/src/config/controller-config.ts. */
export function controllerEnvironment(options: ControllerOptions, host: string, port: number): Record<string, string> {
  return {
    DATABASE_URL: options.databaseUrl,
    REDIS_URL: options.redisUrl,
    BERTH_AGENT_REDIS_URL: options.agentRedisUrl ?? options.redisUrl,
    BERTH_CONTROLLER_LISTEN: `${host}:${port}`,
    BERTH_RECEIVER_ADDRESS: `${options.receiverAddress.host}:${options.receiverAddress.port}`,
    BERTH_RECEIVER_TOKEN: options.receiverToken,
    ...options.env,
  };
}

/** Starts `berth controller` and waits until GET /healthz answers 200 (Postgres and Redis both up). */
export async function startController(options: ControllerOptions): Promise<ControllerHandle> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? (await freePort(host));
  const service = await ServiceProcess.spawn({ service: 'controller', env: controllerEnvironment(options, host, port), logFile: options.logFile });
  const url = `http://${host}:${port}`;
  await stopOnFailure(service, waitUntil(service, `healthy at ${url}/healthz`, httpAnswers200(`${url}/healthz`), options.readyTimeoutMs ?? 30_000, 100));
  return { ...serviceHandle(service), url, host, port };
}
