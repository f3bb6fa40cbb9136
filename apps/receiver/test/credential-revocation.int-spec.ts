import { ErrorCode, MessageType, PROTOCOL_VERSION, encodeMessage, type Message } from '@berth/wire';
import { randomUUID } from 'node:crypto';
import { RawClient } from './support/frames';
import { startReceiver, type ReceiverFixture } from './support/receiver-fixture';
import { credentialIdOf, type TestHost } from './support/static-verifier';

const CHECK_MS = 200;
const revokedHost: TestHost = { hostId: randomUUID(), hostName: 'revoked', credential: 'revoked-secret' };
const keptHost: TestHost = { hostId: randomUUID(), hostName: 'kept', credential: 'kept-secret' };

let fx: ReceiverFixture;

beforeAll(async () => {
  // Long idle timeout: these raw clients send no heartbeats, and only revocation may end their sessions.
  fx = await startReceiver({ heartbeatMs: 1000, idleTimeoutMs: 30_000, maxSessions: 4 }, { credentialCheckMs: CHECK_MS });
  fx.verifier.addHost(revokedHost).addHost(keptHost);
});
afterAll(async () => {
  await fx.stop();
});

function hello(host: TestHost, runId: string): Message {
  return { type: MessageType.Hello, protocol: PROTOCOL_VERSION, role: 'backup', hostId: host.hostId, runId, credential: host.credential, agentVersion: 'test' };
}

/** A backup session of `host` past Welcome. */
async function openSession(host: TestHost): Promise<RawClient> {
  const runId = randomUUID();
  fx.verifier.addRun({ runId, hostId: host.hostId, kind: 'backup' });
  const client = await RawClient.connect(fx.port);
  client.write(encodeMessage(hello(host, runId)));
  while (!client.messages.some((m) => m.type === MessageType.Welcome || m.type === MessageType.Error)) await new Promise((r) => setTimeout(r, 5));
  return client;
}

function errorOf(client: RawClient): Message | undefined {
  return client.messages.find((m) => m.type === MessageType.Error);
}

describe('receiver: revoked credentials', () => {
  it('ends an open session within a check period of the revocation, and only that one', async () => {
    const revoked = await openSession(revokedHost);
    const kept = await openSession(keptHost);
    expect(errorOf(revoked)).toBeUndefined();

    const revokedAt = Date.now();
    fx.verifier.revoked.add(credentialIdOf(revokedHost));
    await revoked.closed;
    const endedAfterMs = Date.now() - revokedAt;
    expect(errorOf(revoked)).toEqual({ type: MessageType.Error, code: ErrorCode.Unauthorized, message: 'agent credential revoked' });
    expect(endedAfterMs).toBeLessThan(CHECK_MS * 2 + 1000);

    // The other host's session outlives more checks (all open sessions are asked about in one call per period).
    const checks = fx.verifier.checks;
    while (fx.verifier.checks < checks + 2) await new Promise((r) => setTimeout(r, 20));
    expect(errorOf(kept)).toBeUndefined();
    expect(kept.socket.destroyed).toBe(false);
    kept.socket.destroy();
  });

  it('refuses a new session of the revoked credential at Hello, without any cache', async () => {
    const verifiedBefore = fx.verifier.calls;
    const client = await openSession(revokedHost);
    expect(errorOf(client)).toMatchObject({ code: ErrorCode.Unauthorized });
    expect(fx.verifier.calls).toBe(verifiedBefore + 1);
    await client.closed;
  });
});
