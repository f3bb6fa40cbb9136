/**
 * A real HTTP server speaking the controller's agent API, recording what the agent reports. Used where
 * the real controller (PostgreSQL, Nest) would add nothing to what a test checks.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import { type AgentConfigResponse, type EnrollResponse, type RunFinishRequest, type RunProgressRequest } from '@berth/contracts';

export interface RecordedCall {
  readonly method: string;
  readonly path: string;
  readonly authorization: string | undefined;
  readonly body: unknown;
}

export interface RecordingControllerOptions {
  readonly credential?: string;
  readonly enrollmentSecret?: string;
  readonly config?: Omit<AgentConfigResponse, 'hostId' | 'hostName'>;
  readonly hostId?: string;
  /** Answers 503 to this many runFinish calls first (a controller restarting). */
  readonly unavailableFinishes?: number;
}

export class RecordingController {
  readonly calls: RecordedCall[] = [];
  /** Runs an operator asked to cancel: named in heartbeat answers (when held) and progress answers. */
  readonly canceled = new Set<string>();
  /** While set, runStart calls are answered only once it resolves (a busy controller). */
  holdStarts: Promise<void> | null = null;
  /** runStart calls are refused with this status and error code (e.g. 409 for a run that has ended). */
  refuseStarts: { status: number; code: string; message: string } | null = null;
  private server: Server | null = null;
  private attempts = new Map<string, number>();
  private finishesRefused = 0;

  constructor(private readonly options: RecordingControllerOptions = {}) {}

  get url(): string {
    const address = this.server?.address() as AddressInfo;
    return `http://127.0.0.1:${address.port}`;
  }

  get hostId(): string {
    return this.options.hostId ?? 'host-1';
  }

  get credential(): string {
    return this.options.credential ?? 'agent-credential';
  }

  finishes(runId: string): RunFinishRequest[] {
    return this.calls.filter((call) => call.path === `/agent/v1/runs/${runId}/finish`).map((call) => call.body as RunFinishRequest);
  }

  progress(runId: string): RunProgressRequest[] {
    return this.calls.filter((call) => call.path === `/agent/v1/runs/${runId}/progress`).map((call) => call.body as RunProgressRequest);
  }

  async start(): Promise<this> {
    this.server = createServer((request, response) => {
      void readBody(request).then(async (body) => {
        const path = request.url ?? '';
        this.calls.push({ method: request.method ?? '', path, authorization: request.headers.authorization, body });
        if (this.holdStarts !== null && path.endsWith('/start')) await this.holdStarts;
        const [status, answer] = this.answer(request.method ?? '', path, request.headers.authorization, body);
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end(answer === undefined ? '' : JSON.stringify(answer));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    await new Promise((resolve) => this.server?.close(resolve));
  }

  private answer(method: string, path: string, authorization: string | undefined, body: unknown): [number, unknown] {
    if (method === 'POST' && path === '/agent/v1/enroll') {
      const secret = (body as { enrollmentSecret?: string } | null)?.enrollmentSecret;
      if (secret !== (this.options.enrollmentSecret ?? 'enroll-secret')) return [401, { statusCode: 401, code: 'unauthorized', message: 'unknown enrollment secret' }];
      const enrolled: EnrollResponse = { hostId: this.hostId, hostName: 'test-host', credential: this.credential, redisUsername: null };
      return [201, enrolled];
    }
    if (authorization !== `Bearer ${this.credential}`) return [401, { statusCode: 401, code: 'unauthorized', message: 'credential refused' }];
    if (method === 'GET' && path === '/agent/v1/config') {
      if (this.options.config === undefined) return [500, { statusCode: 500, code: 'internal', message: 'no config in this test' }];
      return [200, { hostId: this.hostId, hostName: 'test-host', ...this.options.config }];
    }
    if (method === 'POST' && path === '/agent/v1/heartbeat') {
      const held = (body as { runIds?: string[] } | null)?.runIds ?? [];
      return [200, { cancelRunIds: held.filter((id) => this.canceled.has(id)), heartbeatMs: this.options.config?.heartbeatMs ?? 60_000 }];
    }
    const run = /^\/agent\/v1\/runs\/([^/]+)\/(start|progress|finish)$/.exec(path);
    if (method === 'POST' && run !== null) {
      const runId = run[1]!;
      if (run[2] === 'start') {
        if (this.refuseStarts !== null) return [this.refuseStarts.status, { statusCode: this.refuseStarts.status, code: this.refuseStarts.code, message: this.refuseStarts.message }];
        const attempt = (this.attempts.get(runId) ?? 0) + 1;
        this.attempts.set(runId, attempt);
        return [200, { runId, kind: 'backup', attempt }];
      }
      if (run[2] === 'finish' && this.finishesRefused < (this.options.unavailableFinishes ?? 0)) {
        this.finishesRefused += 1;
        return [503, { statusCode: 503, code: 'unavailable', message: 'database restarting' }];
      }
      return [200, run[2] === 'progress' ? { cancelRequested: this.canceled.has(runId) } : { id: runId }];
    }
    return [404, { statusCode: 404, code: 'not_found', message: `no route ${method} ${path}` }];
  }
}

async function readBody(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text === '' ? null : (JSON.parse(text) as unknown);
}
