import { once } from 'node:events';
import http from 'node:http';
import { type AddressInfo } from 'node:net';
import { RECEIVER_API, type VerifySessionResponse } from '@berth/contracts';
import { ErrorCode, WireError } from '@berth/wire';
import { ControllerSessionVerifier } from '../src/verify/controller-session-verifier';

const TOKEN = 'receiver-token';
const REQUEST = { hostId: '6f1c4a57-7e0a-4f7e-9a51-1d2b3c4d5e6f', runId: '0b9d3a4e-2c1f-4e8d-9b7a-6c5d4e3f2a1b', credential: 'agent-credential' };
const GRANT: VerifySessionResponse = { credentialId: 'c1', hostId: REQUEST.hostId, hostName: 'web1', runId: REQUEST.runId, kind: 'backup', attempt: 0, restore: null };

/** What the scripted controller answers: a status and a raw body, or a dropped connection. */
type Answer = { status: number; body: string } | 'drop';

describe('ControllerSessionVerifier against a real HTTP server', () => {
  let server: http.Server;
  let verifier: ControllerSessionVerifier;
  let answers: Answer[];
  const seen: Array<{ url: string | undefined; authorization: string | undefined; body: unknown }> = [];

  beforeEach(async () => {
    answers = [];
    seen.length = 0;
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        seen.push({ url: req.url, authorization: req.headers.authorization, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown });
        const answer = answers.shift() ?? { status: 200, body: JSON.stringify(GRANT) };
        if (answer === 'drop') {
          req.socket.destroy();
          return;
        }
        res.writeHead(answer.status, { 'content-type': 'application/json' });
        res.end(answer.body);
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    verifier = new ControllerSessionVerifier(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, TOKEN);
  });

  afterEach(async () => {
    verifier.close();
    server.closeAllConnections();
    server.close();
    await once(server, 'close');
  });

  it('asks with its token and returns the grant', async () => {
    await expect(verifier.verify(REQUEST)).resolves.toEqual(GRANT);
    expect(seen).toEqual([{ url: RECEIVER_API.verifySession, authorization: `Bearer ${TOKEN}`, body: REQUEST }]);
  });

  it.each([
    [401, '{"message":"agent credential revoked"}', ErrorCode.Unauthorized, 'credential rejected: agent credential revoked'],
    [401, 'not json', ErrorCode.Unauthorized, 'credential rejected'],
    [403, '{}', ErrorCode.Forbidden, 'this host may not use this run'],
    [404, '{}', ErrorCode.Forbidden, 'no such run for this host'],
    [500, '{}', ErrorCode.Internal, 'cannot verify the session: controller answered 500'],
    [200, '{"credentialId":', ErrorCode.Internal, 'cannot verify the session: controller sent invalid JSON'],
  ])('maps an answer %i %s to %s', async (status, body, code, message) => {
    answers = [{ status, body }];
    await expect(verifier.verify(REQUEST)).rejects.toMatchObject({ code, message });
  });

  it('asks again on a new connection when the kept-alive one broke under the question (it only reads)', async () => {
    await verifier.verify(REQUEST);
    answers = ['drop'];
    await expect(verifier.verify(REQUEST)).resolves.toEqual(GRANT);
    expect(seen).toHaveLength(3);
  });

  it('reports an unreachable controller as internal, naming the system error', async () => {
    server.closeAllConnections();
    server.close();
    await once(server, 'close');
    const error = (await verifier.verify(REQUEST).catch((e: unknown) => e)) as WireError;
    expect(error).toBeInstanceOf(WireError);
    expect(error.code).toBe(ErrorCode.Internal);
    expect(error.message).toMatch(/^cannot verify the session: controller unreachable \(connect ECONNREFUSED/);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
  });

  it('maps the credential check: invalid ids, a refused token', async () => {
    answers = [{ status: 200, body: '{"invalid":["c2"]}' }, { status: 401, body: '{"message":"bad receiver token"}' }];
    await expect(verifier.invalidCredentials(['c1', 'c2'])).resolves.toEqual(['c2']);
    await expect(verifier.invalidCredentials(['c1'])).rejects.toMatchObject({ code: ErrorCode.Unauthorized, message: 'the controller rejected the receiver token: bad receiver token' });
    expect(seen[0]).toEqual({ url: RECEIVER_API.checkCredentials, authorization: `Bearer ${TOKEN}`, body: { credentialIds: ['c1', 'c2'] } });
  });
});
