import { type CheckCredentialsRequest, RECEIVER_API, type VerifySessionRequest, type VerifySessionResponse } from '@berth/contracts';
import { once } from 'node:events';
import http from 'node:http';
import { type AddressInfo } from 'node:net';

export interface SeenRequest {
  readonly authorization: string | undefined;
  readonly body: VerifySessionRequest;
}

/**
 * A real HTTP server answering the controller's session-verification endpoint from a table, the way the
 * controller does: 401 for a bad receiver token or agent credential, 404 for a run of another host.
 */
export class FakeController {
  readonly seen: SeenRequest[] = [];
  readonly grants = new Map<string, VerifySessionResponse & { credential: string }>();
  /** Credential ids the credential check reports invalid. */
  readonly revoked = new Set<string>();
  private readonly server: http.Server;

  constructor(private readonly receiverToken: string) {
    this.server = http.createServer((req, res) => void this.handle(req, res));
  }

  async start(): Promise<string> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    this.server.close();
    await once(this.server, 'close');
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const reply = (status: number, payload: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(payload));
    };
    if (req.method === 'POST' && req.url === RECEIVER_API.checkCredentials) {
      if (req.headers.authorization !== `Bearer ${this.receiverToken}`) return reply(401, { message: 'bad receiver token' });
      const asked = (JSON.parse(text) as CheckCredentialsRequest).credentialIds;
      return reply(200, { invalid: asked.filter((id) => this.revoked.has(id)) });
    }
    const body = JSON.parse(text) as VerifySessionRequest;
    this.seen.push({ authorization: req.headers.authorization, body });
    if (req.method !== 'POST' || req.url !== RECEIVER_API.verifySession) return reply(404, { message: 'no route' });
    if (req.headers.authorization !== `Bearer ${this.receiverToken}`) return reply(401, { message: 'bad receiver token' });
    const grant = this.grants.get(body.runId);
    if (grant === undefined || grant.hostId !== body.hostId) return reply(404, { message: 'no such run' });
    if (grant.credential !== body.credential) return reply(401, { message: 'bad credential' });
    const { credential: _credential, ...response } = grant;
    return reply(200, response);
  }
}
