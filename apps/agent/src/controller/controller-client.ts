/**
 * The agent's side of the controller's agent API (AGENT_API in @berth/contracts): JSON over HTTP(S),
 * authenticated with the agent's credential as a bearer token.
 */
import {
  AGENT_API,
  type AgentConfigResponse,
  type ApiErrorBody,
  type EnrollRequest,
  type EnrollResponse,
  type HeartbeatRequest,
  type HeartbeatResponse,
  type RunFinishRequest,
  type RunProgressRequest,
  type RunProgressResponse,
  type RunStartResponse,
} from '@berth/contracts';
import { HttpJsonClient, type HttpJsonResponse } from '@berth/http-json';
import { AgentError, AgentErrorCode, errorMessage } from '../errors/agent-error';

/** What the run services need from the controller; HttpControllerClient is the real one. */
export interface RunReporter {
  /** Marks the run running; the controller counts the attempt and answers its number. */
  runStart(runId: string): Promise<RunStartResponse>;
  /** The answer says whether an operator asked to cancel the run. */
  runProgress(runId: string, request: RunProgressRequest): Promise<RunProgressResponse>;
  runFinish(runId: string, request: RunFinishRequest): Promise<void>;
}

export interface ControllerClient extends RunReporter {
  enroll(request: EnrollRequest): Promise<EnrollResponse>;
  config(): Promise<AgentConfigResponse>;
  /** The agent is alive; the answer names the held runs to cancel. */
  heartbeat(request: HeartbeatRequest): Promise<HeartbeatResponse>;
}

const REQUEST_TIMEOUT_MS = 15_000;

export class HttpControllerClient implements ControllerClient {
  private readonly http: HttpJsonClient;

  constructor(
    baseUrl: string,
    private credential: string | null,
  ) {
    this.http = new HttpJsonClient(baseUrl, { timeoutMs: REQUEST_TIMEOUT_MS });
  }

  useCredential(credential: string): void {
    this.credential = credential;
  }

  enroll(request: EnrollRequest): Promise<EnrollResponse> {
    return this.request<EnrollResponse>('POST', AGENT_API.enroll, request, false, false);
  }

  config(): Promise<AgentConfigResponse> {
    return this.request<AgentConfigResponse>('GET', AGENT_API.config, undefined, true, true);
  }

  heartbeat(request: HeartbeatRequest): Promise<HeartbeatResponse> {
    return this.request<HeartbeatResponse>('POST', AGENT_API.heartbeat, request, true, true);
  }

  runStart(runId: string): Promise<RunStartResponse> {
    return this.request<RunStartResponse>('POST', AGENT_API.runStart(encodeURIComponent(runId)), undefined, true, false);
  }

  async runProgress(runId: string, request: RunProgressRequest): Promise<RunProgressResponse> {
    const answer = await this.request<RunProgressResponse | undefined>('POST', AGENT_API.runProgress(encodeURIComponent(runId)), request, true, true);
    return { cancelRequested: answer?.cancelRequested === true };
  }

  async runFinish(runId: string, request: RunFinishRequest): Promise<void> {
    await this.request<unknown>('POST', AGENT_API.runFinish(encodeURIComponent(runId)), request, true, true);
  }

  /** Closes the kept-alive connections to the controller. */
  close(): void {
    this.http.close();
  }

  /**
   * `idempotent`: the controller may get it twice with the same effect (the request is then sent again when a kept-alive
   * connection broke under it). Not enroll, which makes a credential, nor runStart, which counts an attempt.
   */
  private async request<T>(method: 'GET' | 'POST', path: string, body: unknown, authenticated: boolean, idempotent: boolean): Promise<T> {
    const headers: Record<string, string> = {};
    if (authenticated) {
      if (this.credential === null) throw new AgentError(AgentErrorCode.Enrollment, 'the agent is not enrolled yet');
      headers['authorization'] = `Bearer ${this.credential}`;
    }
    let response: HttpJsonResponse;
    try {
      response = await this.http.request({ method, path, headers, body, idempotent });
    } catch (error) {
      throw new AgentError(AgentErrorCode.ControllerUnavailable, `controller unreachable at ${this.http.urlOf(path)}: ${errorMessage(error)}`, { cause: error });
    }
    if (response.ok) return (response.text === '' ? undefined : JSON.parse(response.text)) as T;
    throw responseError(method, path, response.status, response.text);
  }
}

function responseError(method: string, path: string, status: number, text: string): AgentError {
  const detail = apiErrorMessage(text);
  const what = `${method} ${path} answered ${status}${detail === '' ? '' : `: ${detail}`}`;
  if (status === 401 || status === 403) return new AgentError(AgentErrorCode.CredentialRefused, what);
  if (status >= 500 || status === 408 || status === 429) return new AgentError(AgentErrorCode.ControllerUnavailable, what);
  return new AgentError(AgentErrorCode.ControllerRejected, what);
}

function apiErrorMessage(text: string): string {
  try {
    const body = JSON.parse(text) as Partial<ApiErrorBody>;
    const parts = [body.message, ...(body.details ?? [])].filter((part): part is string => typeof part === 'string');
    return parts.join('; ');
  } catch {
    return text.slice(0, 200);
  }
}
