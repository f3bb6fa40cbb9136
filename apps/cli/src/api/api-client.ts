import {
  type AgentCredentialResponse,
  type EnrollmentSecretResponse,
  type RevokeCredentialsResponse,
  type CreateGroupRequest,
  type CreateHostRequest,
  type GroupResponse,
  type UpdateGroupRequest,
  type UpdateHostRequest,
  type CreateHostResponse,
  type FleetReport,
  type HealthResponse,
  type HostHistoryResponse,
  type HostResponse,
  type RestoreRequest,
  type RunResponse,
  type SnapshotResponse,
  type AuditPage,
  type FileErrorPage,
  type CreateTokenRequest,
  type CreateTokenResponse,
  type TokenResponse,
  type WhoAmIResponse,
  type CreateWebhookRequest,
  type CreateWebhookResponse,
  type UpdateWebhookRequest,
  type WebhookDeliveryPage,
  type WebhookDeliveryResponse,
  type WebhookResponse,
} from '@berth/contracts';
import { UsageError } from '../errors/cli-error';
import { ApiRequestError, ControllerUnreachableError, networkErrorCode, toApiErrorBody } from './api-errors';

export interface ApiClientOptions {
  /** Per-request timeout; the controller answers every call quickly, long work happens in runs. */
  readonly timeoutMs?: number;
  /** Bearer token presented on every call. */
  readonly token?: string | null;
}

export interface RunFilter {
  readonly hostId?: string;
}

/** Thin typed client of the controller's operator API (libs/contracts api.ts). */
export class ApiClient {
  readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly token: string | null;

  constructor(baseUrl: string, options: ApiClientOptions = {}) {
    this.baseUrl = normalizeBaseUrl(baseUrl);
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.token = options.token ?? null;
  }

  health(): Promise<HealthResponse> {
    return this.request<HealthResponse>('GET', '/healthz');
  }

  createHost(request: CreateHostRequest): Promise<CreateHostResponse> {
    return this.request<CreateHostResponse>('POST', '/hosts', request);
  }

  listHosts(): Promise<HostResponse[]> {
    return this.request<HostResponse[]>('GET', '/hosts');
  }

  getHost(id: string): Promise<HostResponse> {
    return this.request<HostResponse>('GET', `/hosts/${encodeURIComponent(id)}`);
  }

  /** `force` backs up a paused host anyway. */
  startBackup(hostId: string, force = false): Promise<RunResponse> {
    return this.request<RunResponse>('POST', `/hosts/${encodeURIComponent(hostId)}/backups${force ? '?force=true' : ''}`);
  }

  updateHost(idOrName: string, request: UpdateHostRequest): Promise<HostResponse> {
    return this.request<HostResponse>('PATCH', `/hosts/${encodeURIComponent(idOrName)}`, request);
  }

  createGroup(request: CreateGroupRequest): Promise<GroupResponse> {
    return this.request<GroupResponse>('POST', '/groups', request);
  }

  listGroups(): Promise<GroupResponse[]> {
    return this.request<GroupResponse[]>('GET', '/groups');
  }

  updateGroup(idOrName: string, request: UpdateGroupRequest): Promise<GroupResponse> {
    return this.request<GroupResponse>('PATCH', `/groups/${encodeURIComponent(idOrName)}`, request);
  }

  /** POST /hosts/:idOrName/pause|unpause or /groups/:idOrName/pause|unpause. */
  setPaused<T extends 'hosts' | 'groups'>(kind: T, idOrName: string, paused: boolean): Promise<T extends 'hosts' ? HostResponse : GroupResponse> {
    return this.request('POST', `/${kind}/${encodeURIComponent(idOrName)}/${paused ? 'pause' : 'unpause'}`);
  }

  /** Admin only: a host's agent credentials, without secrets. */
  listCredentials(hostIdOrName: string): Promise<AgentCredentialResponse[]> {
    return this.request<AgentCredentialResponse[]>('GET', `/hosts/${encodeURIComponent(hostIdOrName)}/credentials`);
  }

  /** Admin only: revokes all of a host's credentials, or the one given. */
  revokeCredentials(hostIdOrName: string, credentialId?: string): Promise<RevokeCredentialsResponse> {
    const host = encodeURIComponent(hostIdOrName);
    return credentialId === undefined
      ? this.request<RevokeCredentialsResponse>('POST', `/hosts/${host}/credentials/revoke`)
      : this.request<RevokeCredentialsResponse>('DELETE', `/hosts/${host}/credentials/${encodeURIComponent(credentialId)}`);
  }

  /** Admin only: a new one-time enrollment secret for the host. */
  newEnrollmentSecret(hostIdOrName: string): Promise<EnrollmentSecretResponse> {
    return this.request<EnrollmentSecretResponse>('POST', `/hosts/${encodeURIComponent(hostIdOrName)}/enrollment`);
  }

  listRuns(filter: RunFilter = {}): Promise<RunResponse[]> {
    const query = filter.hostId !== undefined ? `?hostId=${encodeURIComponent(filter.hostId)}` : '';
    return this.request<RunResponse[]>('GET', `/runs${query}`);
  }

  getRun(id: string): Promise<RunResponse> {
    return this.request<RunResponse>('GET', `/runs/${encodeURIComponent(id)}`);
  }

  /** POST /runs/:id/retry: a failed or canceled run queued again under the same job id. */
  retryRun(id: string): Promise<RunResponse> {
    return this.request<RunResponse>('POST', `/runs/${encodeURIComponent(id)}/retry`);
  }

  /** POST /runs/:id/cancel: a queued run ends at once, a running one once its agent has stopped. */
  cancelRun(id: string): Promise<RunResponse> {
    return this.request<RunResponse>('POST', `/runs/${encodeURIComponent(id)}/cancel`);
  }

    listSnapshots(hostId: string): Promise<SnapshotResponse[]> {
    return this.request<SnapshotResponse[]>('GET', `/hosts/${encodeURIComponent(hostId)}/snapshots`);
  }

  reportFleet(): Promise<FleetReport> {
    return this.request<FleetReport>('GET', '/reports/fleet');
  }

  hostHistory(hostId: string, limit?: number): Promise<HostHistoryResponse> {
    const query = limit === undefined ? '' : `?limit=${limit}`;
    return this.request<HostHistoryResponse>('GET', `/hosts/${encodeURIComponent(hostId)}/history${query}`);
  }

  restoreSnapshot(snapshotId: string, request: RestoreRequest): Promise<RunResponse> {
    return this.request<RunResponse>('POST', `/snapshots/${encodeURIComponent(snapshotId)}/restore`, request);
  }

  runFileErrors(id: string, after?: string): Promise<FileErrorPage> {
    return this.request<FileErrorPage>('GET', `/runs/${encodeURIComponent(id)}/file-errors${after === undefined ? '' : `?after=${encodeURIComponent(after)}`}`);
  }

  whoAmI(): Promise<WhoAmIResponse> {
    return this.request<WhoAmIResponse>('GET', '/auth/whoami');
  }

  createToken(request: CreateTokenRequest): Promise<CreateTokenResponse> {
    return this.request<CreateTokenResponse>('POST', '/tokens', request);
  }

  listTokens(): Promise<TokenResponse[]> {
    return this.request<TokenResponse[]>('GET', '/tokens');
  }

  revokeToken(id: string): Promise<TokenResponse> {
    return this.request<TokenResponse>('DELETE', `/tokens/${encodeURIComponent(id)}`);
  }

  audit(query: Readonly<Record<string, string | number | undefined>>): Promise<AuditPage> {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value));
    const search = params.toString();
    return this.request<AuditPage>('GET', `/audit${search === '' ? '' : `?${search}`}`);
  }

  createWebhook(request: CreateWebhookRequest): Promise<CreateWebhookResponse> {
    return this.request<CreateWebhookResponse>('POST', '/webhooks', request);
  }

  listWebhooks(): Promise<WebhookResponse[]> {
    return this.request<WebhookResponse[]>('GET', '/webhooks');
  }

  updateWebhook(id: string, request: UpdateWebhookRequest): Promise<WebhookResponse> {
    return this.request<WebhookResponse>('PATCH', `/webhooks/${encodeURIComponent(id)}`, request);
  }

  removeWebhook(id: string): Promise<void> {
    return this.request<void>('DELETE', `/webhooks/${encodeURIComponent(id)}`);
  }

  webhookDeliveries(id: string, limit?: number, cursor?: string): Promise<WebhookDeliveryPage> {
    const query = new URLSearchParams();
    if (limit !== undefined) query.set('limit', String(limit));
    if (cursor !== undefined) query.set('cursor', cursor);
    const search = query.toString();
    return this.request<WebhookDeliveryPage>('GET', `/webhooks/${encodeURIComponent(id)}/deliveries${search === '' ? '' : `?${search}`}`);
  }

  testWebhook(id: string): Promise<WebhookDeliveryResponse> {
    return this.request<WebhookDeliveryResponse>('POST', `/webhooks/${encodeURIComponent(id)}/test`);
  }

  private async request<T>(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.token !== null) headers['authorization'] = `Bearer ${this.token}`;
    const init: RequestInit = {
      method,
      headers,
      signal: AbortSignal.timeout(this.timeoutMs),
    };
    if (body !== undefined) init.body = JSON.stringify(body);
    let response: Response;
    let text: string;
    try {
      response = await fetch(`${this.baseUrl}${path}`, init);
      text = await response.text();
    } catch (error) {
      const code = networkErrorCode(error);
      if (code !== null) throw new ControllerUnreachableError(this.baseUrl, code);
      throw error;
    }
    if (!response.ok) throw new ApiRequestError(method, path, toApiErrorBody(response.status, response.statusText, text));
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }
}

export function normalizeBaseUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`controller URL "${raw}" is not a valid URL (expected e.g. http://127.0.0.1:8080)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`controller URL "${raw}" must start with http:// or https://`);
  }
  return url.toString().replace(/\/+$/, '');
}
