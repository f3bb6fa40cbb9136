import { type ServiceProcess } from '../process/service-process';

/** What every started service gives back. */
export interface ServiceHandle {
  readonly pid: number;
  readonly logFile: string;
  /** The whole log so far (stdout and stderr). */
  logs(): Promise<string>;
  /** Graceful stop (SIGTERM unless told otherwise, SIGKILL after the grace period); resolves to the exit code. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<number>;
  /** SIGKILL now: the way to simulate a crash. */
  kill(): void;
  readonly process: ServiceProcess;
}

export function serviceHandle(service: ServiceProcess): ServiceHandle {
  return {
    pid: service.pid,
    logFile: service.log.path,
    logs: () => service.log.text(),
    stop: (signal, graceMs) => service.stop(signal, graceMs),
    kill: () => service.kill(),
    process: service,
  };
}

/** Stops a service that failed to become ready, then rethrows. */
export async function stopOnFailure<T>(service: ServiceProcess, ready: Promise<T>): Promise<T> {
  try {
    return await ready;
  } catch (error) {
    await service.stop('SIGKILL', 1000);
    throw error;
  }
}
