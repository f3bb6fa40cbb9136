import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer as createTcpServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import { FramedConnection, MessageType } from '@berth/wire';
import { AgentErrorCode } from '../src/errors/agent-error';
import { SocketReceiverConnector } from '../src/receiver/receiver-connector';

// Real files and sockets; generous under load (the default is 5 s).
jest.setTimeout(30_000);

/** A self-signed certificate for the name "berth-receiver" (openssl, as an operator would make one). */
function makeCertificate(dir: string, name: string): { key: string; cert: string } {
  const keyFile = join(dir, `${name}.key`);
  const certFile = join(dir, `${name}.crt`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', `/CN=${name}`, '-addext', `subjectAltName=DNS:${name}`, '-keyout', keyFile, '-out', certFile], {
    stdio: 'ignore',
  });
  return { key: readFileSync(keyFile, 'utf8'), cert: readFileSync(certFile, 'utf8') };
}

describe('SocketReceiverConnector', () => {
  let dir: string;
  let server: Server | null;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'berth-tls-'));
    server = null;
  });
  afterEach(async () => {
    await new Promise((resolve) => (server === null ? resolve(undefined) : server.close(resolve)));
    await rm(dir, { recursive: true, force: true });
  });

  const listen = async (created: Server): Promise<number> => {
    server = created;
    await new Promise<void>((resolve) => created.listen(0, '127.0.0.1', resolve));
    return (created.address() as AddressInfo).port;
  };

  it('speaks TLS to a receiver whose certificate the given CA signed, checking the server name', async () => {
    const { key, cert } = makeCertificate(dir, 'berth-receiver');
    const received: number[] = [];
    const port = await listen(
      createTlsServer({ key, cert }, (socket) => {
        const peer = new FramedConnection(socket, { maxFrameBytes: 1 << 20, heartbeatMs: 0, idleTimeoutMs: 0 });
        peer.on('message', (message) => received.push(message.type));
        peer.on('close', () => undefined);
      }),
    );
    const connection = await new SocketReceiverConnector({ host: '127.0.0.1', port, tls: true, caPem: cert, serverName: 'berth-receiver' }).connect(new AbortController().signal);
    await connection.send({ type: MessageType.Finish });
    for (let i = 0; i < 50 && received.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    connection.close();
    expect(received).toEqual([MessageType.Finish]);
  });

  it('refuses a receiver whose certificate does not match the CA or the name', async () => {
    const { key, cert } = makeCertificate(dir, 'berth-receiver');
    const other = makeCertificate(dir, 'someone-else');
    const port = await listen(createTlsServer({ key, cert }, (socket) => socket.on('error', () => undefined)));
    const wrongCa = await new SocketReceiverConnector({ host: '127.0.0.1', port, tls: true, caPem: other.cert, serverName: 'berth-receiver' })
      .connect(new AbortController().signal)
      .catch((error: unknown) => error);
    expect(wrongCa).toMatchObject({ code: AgentErrorCode.ReceiverUnavailable });
    expect((wrongCa as Error).message).toMatch(/cannot connect to the receiver at tls:\/\/127\.0\.0\.1/);
    const wrongName = await new SocketReceiverConnector({ host: '127.0.0.1', port, tls: true, caPem: cert, serverName: 'not-the-receiver' })
      .connect(new AbortController().signal)
      .catch((error: unknown) => error);
    expect((wrongName as Error).message).toMatch(/not-the-receiver|altnames/i);
  });

  it('reports a receiver that is not listening, and gives up connecting when aborted', async () => {
    const port = await listen(createTcpServer());
    const address = { host: '127.0.0.1', port, tls: false, caPem: null, serverName: null };
    await new Promise((resolve) => server!.close(resolve));
    server = null;
    await expect(new SocketReceiverConnector(address).connect(new AbortController().signal)).rejects.toMatchObject({ code: AgentErrorCode.ReceiverUnavailable });
    const stop = new AbortController();
    stop.abort();
    await expect(new SocketReceiverConnector(address).connect(stop.signal)).rejects.toMatchObject({ code: AgentErrorCode.Interrupted });
  });
});
