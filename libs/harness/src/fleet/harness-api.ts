import {
  type CreateHostRequest,
  type CreateHostResponse,
  type HostResponse,
  type RestoreRequest,
  type RunResponse,
  type SnapshotResponse,
  TERMINAL_RUN_STATUSES,
} from '@berth/contracts';

export class HarnessApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
    what: string,
  ) {
    super(`${what} answered ${status}: ${body.slice(0, 500)}`);
    this.name = 'HarnessApiError';
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A small client of the controller's operator API for tests, the demo and benchmarks. */
export class HarnessApi {
  /** `token`: an API token (the fleet's admin token); every call but /healthz needs one. */
  constructor(
    readonly baseUrl: string,
    private readonly token?: string,
  ) {}

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = {};
    if (this.token !== undefined) headers['authorization'] = `Bearer ${this.token}`;
    const init: RequestInit = { method, headers, signal: AbortSignal.timeout(30_000) };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      headers['content-type'] = 'application/json';
    }
    const response = await fetch(`${this.baseUrl}${path}`, init);
    const text = await response.text();
    if (!response.ok) throw new HarnessApiError(response.status, text, `${method} ${path}`);
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }

  createHost(request: CreateHostRequest): Promise<CreateHostResponse> {
    return this.request('POST', '/hosts', request);
  }

  getHost(id: string): Promise<HostResponse> {
    return this.request('GET', `/hosts/${id}`);
  }

  startBackup(hostId: string): Promise<RunResponse> {
    return this.request('POST', `/hosts/${hostId}/backups`);
  }

  getRun(id: string): Promise<RunResponse> {
    return this.request('GET', `/runs/${id}`);
  }

  /** POST /runs/:id/cancel. */
  cancelRun(id: string): Promise<RunResponse> {
    return this.request('POST', `/runs/${id}/cancel`);
  }

  retryRun(id: string): Promise<RunResponse> {
    return this.request('POST', `/runs/${id}/retry`);
  }

    listSnapshots(hostId: string): Promise<SnapshotResponse[]> {
    return this.request('GET', `/hosts/${hostId}/snapshots`);
  }

  restore(snapshotId: string, request: RestoreRequest): Promise<RunResponse> {
    return this.request('POST', `/snapshots/${snapshotId}/restore`, request);
  }

  /** Polls the run until it reaches a terminal status; `onProgress` sees every poll. */
  async waitForRun(id: string, options: { timeoutMs?: number; pollMs?: number; onProgress?: (run: RunResponse) => void } = {}): Promise<RunResponse> {
    const deadline = Date.now() + (options.timeoutMs ?? 120_000);
    for (;;) {
      const run = await this.getRun(id);
      options.onProgress?.(run);
      if (TERMINAL_RUN_STATUSES.includes(run.status)) return run;
      if (Date.now() > deadline) throw new Error(`run ${id} still ${run.status} after ${options.timeoutMs ?? 120_000} ms`);
      await sleep(options.pollMs ?? 200);
    }
  }
}
