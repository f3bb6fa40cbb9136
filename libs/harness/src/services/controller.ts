import { randomBytes } from 'node:crypto';
import { freePort } from '@berth/local-stack';
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
  /** The bootstrap admin API token (BERTH_ADMIN_TOKEN); default: a fresh random one. */
  readonly adminToken?: string;
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
  /** An admin API token of this controller, for HarnessApi and the CLI. */
  readonly adminToken: string;
}

/** A new API token in the controller's format (bt_ + 256 random bits). */
export function newApiToken(): string {
  return `bt_${randomBytes(32).toString('base64url')}`;
}

/** Environment of apps/controller/src/config/controller-config.ts. */
export function controllerEnvironment(options: ControllerOptions, host: string, port: number, adminToken: string): Record<string, string> {
  return {
    DATABASE_URL: options.databaseUrl,
    REDIS_URL: options.redisUrl,
    BERTH_AGENT_REDIS_URL: options.agentRedisUrl ?? options.redisUrl,
    BERTH_CONTROLLER_LISTEN: `${host}:${port}`,
    BERTH_RECEIVER_ADDRESS: `${options.receiverAddress.host}:${options.receiverAddress.port}`,
    BERTH_RECEIVER_TOKEN: options.receiverToken,
    BERTH_ADMIN_TOKEN: adminToken,
    ...options.env,
  };
}

/** Starts `berth controller` and waits until GET /healthz answers 200 (Postgres and Redis both up). */
export async function startController(options: ControllerOptions): Promise<ControllerHandle> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? (await freePort(host));
  const adminToken = options.adminToken ?? newApiToken();
  const service = await ServiceProcess.spawn({ service: 'controller', env: controllerEnvironment(options, host, port, adminToken), logFile: options.logFile });
  const url = `http://${host}:${port}`;
  await stopOnFailure(service, waitUntil(service, `healthy at ${url}/healthz`, httpAnswers200(`${url}/healthz`), options.readyTimeoutMs ?? 30_000, 100));
  return { ...serviceHandle(service), url, host, port, adminToken };
}
