import { canConnect } from '@berth/local-stack';
import { type ServiceProcess } from './service-process';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class ServiceStartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ServiceStartError';
  }
}

/**
 * Polls `check` until it returns true; fails at once if the process exits first, or after `timeoutMs`,
 * with the end of the service's log in the message.
 */
export async function waitUntil(service: ServiceProcess, what: string, check: () => Promise<boolean>, timeoutMs: number, intervalMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!service.running) throw new ServiceStartError(await service.describeFailure(`stopped before ${what}`));
    if (await check()) return;
    if (Date.now() > deadline) throw new ServiceStartError(await service.describeFailure(`not ${what} after ${timeoutMs} ms`));
    await sleep(intervalMs);
  }
}

export function logMatches(service: ServiceProcess, pattern: RegExp): () => Promise<boolean> {
  return async () => pattern.test(await service.log.text());
}

export function httpAnswers200(url: string): () => Promise<boolean> {
  return async () => {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await response.arrayBuffer();
      return response.status === 200;
    } catch {
      return false;
    }
  };
}

export function tcpAccepts(host: string, port: number): () => Promise<boolean> {
  return () => canConnect(host, port);
}
