import { once } from 'node:events';
import http from 'node:http';
import { type AddressInfo, type Socket } from 'node:net';
import { HttpJsonClient, HttpJsonError } from '../src';

type Handler = (req: http.IncomingMessage, body: string, res: http.ServerResponse) => void;

/** A real HTTP server on loopback; each test sets how it answers. */
class TestServer {
  /** Remote ports of the connections requests arrived on, in order. */
  readonly ports: number[] = [];
  handler: Handler = (_req, _body, res) => res.end();
  readonly server = http.createServer((req, res) => {
    this.ports.push(req.socket.remotePort ?? 0);
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => this.handler(req, Buffer.concat(chunks).toString('utf8'), res));
  });

  async start(): Promise<string> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
}

describe('HttpJsonClient', () => {
  let server: TestServer;
  let client: HttpJsonClient;

  let url: string;

  beforeEach(async () => {
    server = new TestServer();
    url = await server.start();
    client = new HttpJsonClient(url, { timeoutMs: 2_000 });
  });

  afterEach(async () => {
    client.close();
    server.server.closeAllConnections();
    server.server.close();
    await once(server.server, 'close');
  });

  it('sends JSON with the given headers and returns the answer as text, on one kept-alive connection', async () => {
    const seen: Array<{ method: string; url: string; type: string | undefined; auth: string | undefined; body: string }> = [];
    server.handler = (req, body, res) => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', type: req.headers['content-type'], auth: req.headers['authorization'], body });
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ echoed: Buffer.byteLength(body) }));
    };
    const first = await client.request({ method: 'POST', path: '/v1/runs/r%201/start', headers: { authorization: 'Bearer t' }, body: { a: 1, b: 'é' } });
    const second = await client.request({ method: 'GET', path: '/v1/config' });

    expect(first).toEqual({ status: 200, ok: true, text: JSON.stringify({ echoed: Buffer.byteLength('{"a":1,"b":"é"}') }) });
    expect(second.ok).toBe(true);
    expect(seen).toEqual([
      { method: 'POST', url: '/v1/runs/r%201/start', type: 'application/json', auth: 'Bearer t', body: '{"a":1,"b":"é"}' },
      { method: 'GET', url: '/v1/config', type: undefined, auth: undefined, body: '' },
    ]);
    expect(server.ports[1]).toBe(server.ports[0]);
  });

  it('returns a non-2xx answer with its status and body, for the caller to read', async () => {
    server.handler = (_req, _body, res) => {
      res.statusCode = 409;
      res.end('{"message":"already running"}');
    };
    await expect(client.request({ method: 'POST', path: '/x', body: {} })).resolves.toEqual({ status: 409, ok: false, text: '{"message":"already running"}' });
  });

  /**
   * The second request arrives on the kept-alive connection and the server drops it without answering, as a server
   * that closes an idle connection just as a request is sent on it does. Counts the requests that arrived.
   */
  function dropTheSecondRequest(): { readonly count: () => number } {
    let requests = 0;
    server.handler = (req, _body, res) => {
      requests += 1;
      if (requests === 2) req.socket.destroy();
      else res.end(String(requests));
    };
    return { count: () => requests };
  }

  it('sends an idempotent request again on a new connection when its kept-alive one broke before the answer', async () => {
    dropTheSecondRequest();
    await client.request({ method: 'GET', path: '/one' });
    const answer = await client.request({ method: 'POST', path: '/two', body: { n: 2 }, idempotent: true });

    expect(answer.text).toBe('3');
    expect(server.ports[2]).not.toBe(server.ports[0]);
  });

  it('does not send another request again: the server may have handled it before the connection broke', async () => {
    const requests = dropTheSecondRequest();
    await client.request({ method: 'GET', path: '/one' });
    await expect(client.request({ method: 'POST', path: '/start', body: {} })).rejects.toMatchObject({ code: 'ECONNRESET' });
    expect(requests.count()).toBe(2);
  });

  it('refuses requests once closed', async () => {
    await client.request({ method: 'GET', path: '/one' });
    client.close();
    await expect(client.request({ method: 'GET', path: '/two' })).rejects.toMatchObject({ code: 'ECLOSED' });
    expect(server.ports).toHaveLength(1);
  });

  it('does not send again when a new connection breaks', async () => {
    let requests = 0;
    server.handler = (req) => {
      requests += 1;
      req.socket.destroy();
    };
    await expect(client.request({ method: 'POST', path: '/x', body: {} })).rejects.toMatchObject({ name: 'HttpJsonError', code: 'ECONNRESET' });
    expect(requests).toBe(1);
  });

  it('fails a request that gets no answer within its timeout', async () => {
    const sockets: Socket[] = [];
    server.handler = (req) => void sockets.push(req.socket);
    const slow = new HttpJsonClient(url, { timeoutMs: 150 });
    try {
      const started = Date.now();
      await expect(slow.request({ method: 'GET', path: '/slow' })).rejects.toMatchObject({ code: 'ETIMEDOUT', message: 'no answer within 150 ms' });
      expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    } finally {
      slow.close();
    }
    expect(sockets).toHaveLength(1);
  });

  it('fails a request whose answer is larger than allowed', async () => {
    server.handler = (_req, _body, res) => res.end('x'.repeat(4096));
    const small = new HttpJsonClient(url, { timeoutMs: 2_000, maxResponseBytes: 1024 });
    try {
      await expect(small.request({ method: 'GET', path: '/big' })).rejects.toMatchObject({ code: 'ETOOBIG' });
    } finally {
      small.close();
    }
  });

  it('reports an unreachable server with the system error', async () => {
    const probe = http.createServer();
    probe.listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const port = (probe.address() as AddressInfo).port;
    probe.close();
    await once(probe, 'close');
    const nowhere = new HttpJsonClient(`http://127.0.0.1:${port}`, { timeoutMs: 2_000 });
    try {
      const error = await nowhere.request({ method: 'GET', path: '/' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(HttpJsonError);
      expect((error as HttpJsonError).code).toBe('ECONNREFUSED');
    } finally {
      nowhere.close();
    }
  });

  it('refuses a base URL that is not http or https, or that carries a user name or password', () => {
    expect(() => new HttpJsonClient('ftp://controller', { timeoutMs: 1_000 })).toThrow('ftp://controller is not an http or https URL');
    expect(() => new HttpJsonClient('http://admin:secret@controller:3000', { timeoutMs: 1_000 })).toThrow('a URL with a user name or password is not supported');
  });
});
