import { freePort } from '@berth/local-stack';
import { ServiceProcess } from '../process/service-process';
import { logMatches, tcpAccepts, waitUntil } from '../process/wait';
import { type ServiceHandle, serviceHandle, stopOnFailure } from './service-handle';

export interface ReceiverOptions {
  readonly controllerUrl: string;
  readonly receiverToken: string;
  /** The repository's root directory (created by the receiver when missing). */
  readonly repositoryDir: string;
  readonly host?: string;
  /** Default: a free port. */
  readonly port?: number;
  readonly logFile: string;
  readonly env?: Readonly<Record<string, string>>;
  readonly readyTimeoutMs?: number;
}

export interface ReceiverHandle extends ServiceHandle {
  readonly host: string;
  readonly port: number;
}

/** Environment of apps/receiver/src/config. */
export function receiverEnvironment(options: ReceiverOptions, host: string, port: number): Record<string, string> {
  return {
    BERTH_CONTROLLER_URL: options.controllerUrl,
    BERTH_RECEIVER_TOKEN: options.receiverToken,
    BERTH_RECEIVER_LISTEN: `${host}:${port}`,
    BERTH_REPOSITORY: options.repositoryDir,
    ...options.env,
  };
}

/** Starts `berth receiver` and waits for its "listening" log line and a TCP connection to succeed. */
export async function startReceiver(options: ReceiverOptions): Promise<ReceiverHandle> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? (await freePort(host));
  const service = await ServiceProcess.spawn({ service: 'receiver', env: receiverEnvironment(options, host, port), logFile: options.logFile });
  const timeoutMs = options.readyTimeoutMs ?? 30_000;
  await stopOnFailure(
    service,
    (async () => {
      await waitUntil(service, 'listening', logMatches(service, /listening/i), timeoutMs);
      await waitUntil(service, `accepting connections on ${host}:${port}`, tcpAccepts(host, port), timeoutMs);
    })(),
  );
  return { ...serviceHandle(service), host, port };
}
