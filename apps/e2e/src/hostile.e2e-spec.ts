import { promises as fs } from 'node:fs';
import path from 'node:path';
import { AGENT_API, type ApiErrorBody, type EnrollResponse, type RunResponse } from '@berth/contracts';
import { compareTrees, formatDifferences, generateSampleTree } from '@berth/harness';
import { encodeMessage, EntryType, ErrorCode, type ErrorMessage, type Message, MessageType, PROTOCOL_VERSION } from '@berth/wire';
import { type FleetSuite, startFleetSuite } from './support/fleet-suite';
import { rawExchange, waitForMessage } from './support/raw-client';

// Mistakes and attacks against the real controller and receiver processes: each gets a clear refusal, and
// only the offending session is lost: a well-behaved agent backs up and restores meanwhile.
describe('bad input and hostile clients', () => {
  let suite: FleetSuite;
  let victim: { hostId: string; credential: string; runId: string };
  let intruder: { hostId: string; credential: string; runId: string };

  /** As the fleet's admin unless `token` (an agent's credential) is given. */
  async function post<T>(urlPath: string, body: unknown, token?: string): Promise<{ status: number; body: T }> {
    const response = await fetch(`${suite.fleet.controller.url}${urlPath}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token ?? suite.fleet.controller.adminToken}` },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as T };
  }

  /** A host enrolled by hand (no agent process): its credential and a queued run nobody takes. */
  async function enrolledHostWithRun(name: string): Promise<{ hostId: string; credential: string; runId: string }> {
    const created = await suite.fleet.addHost({ name, paths: ['/srv/nothing'] });
    const enrolled = await post<EnrollResponse>(AGENT_API.enroll, { enrollmentSecret: created.enrollmentSecret });
    expect(enrolled.status).toBe(201);
    const run = await post<RunResponse>(`/hosts/${created.host.id}/backups`, {});
    expect(run.status).toBe(202);
    return { hostId: created.host.id, credential: enrolled.body.credential, runId: run.body.id };
  }

  function hello(who: { hostId: string; credential: string; runId: string }): Buffer {
    return encodeMessage({ type: MessageType.Hello, protocol: PROTOCOL_VERSION, role: 'backup', hostId: who.hostId, runId: who.runId, credential: who.credential, agentVersion: 'hostile-test' });
  }

  function errorOf(messages: Message[]): ErrorMessage | undefined {
    return messages.find((m): m is ErrorMessage => m.type === MessageType.Error);
  }

  beforeAll(async () => {
    suite = await startFleetSuite('hostile', { receiverEnv: { BERTH_IDLE_TIMEOUT_MS: '3000', BERTH_HEARTBEAT_MS: '1000', BERTH_RECEIVER_HELLO_TIMEOUT_MS: '2000' } });
    victim = await enrolledHostWithRun('e2e-victim');
    intruder = await enrolledHostWithRun('e2e-intruder');
  }, 180_000);

  afterAll(async () => {
    await suite?.stop();
  });

  it('answers invalid API input with a 400 that names the field, and unknown ids with a 404', async () => {
    const relative = await post<ApiErrorBody>('/hosts', { name: 'e2e-bad', paths: ['relative/dir'] });
    expect(relative.status).toBe(400);
    expect(relative.body.details?.join('\n')).toMatch(/paths/);
    const unknownField = await post<ApiErrorBody>('/hosts', { name: 'e2e-bad', paths: ['/srv'], color: 'red' });
    expect(unknownField.status).toBe(400);
    expect(unknownField.body.details?.join('\n')).toMatch(/color/);
    const missing = await fetch(`${suite.fleet.controller.url}/runs/00000000-0000-4000-8000-000000000000`, { headers: { authorization: `Bearer ${suite.fleet.controller.adminToken}` } });
    expect(missing.status).toBe(404);
    const badEnroll = await post<ApiErrorBody>(AGENT_API.enroll, { enrollmentSecret: 'not-a-secret' });
    expect(badEnroll.status).toBe(401);
  });

  it('refuses a wrong credential, and an agent writing to another host\'s run', async () => {
    const { host, port } = suite.fleet.receiver;
    const wrong = await rawExchange(host, port, (socket) => {
      socket.write(hello({ ...victim, credential: 'berth_agent_forged' }));
    });
    expect(errorOf(wrong.messages)?.code).toBe(ErrorCode.Unauthorized);
    expect(wrong.closedByPeer).toBe(true);

    const crossHost = await rawExchange(host, port, (socket) => {
      socket.write(hello({ hostId: victim.hostId, runId: victim.runId, credential: intruder.credential }));
    });
    expect([ErrorCode.Unauthorized, ErrorCode.Forbidden]).toContain(errorOf(crossHost.messages)?.code);
    const ownCredentialOtherRun = await rawExchange(host, port, (socket) => {
      socket.write(hello({ hostId: intruder.hostId, runId: victim.runId, credential: intruder.credential }));
    });
    expect(errorOf(ownCredentialOtherRun.messages)?.code).toBe(ErrorCode.Forbidden);
  }, 60_000);

  it('ends sessions that send garbage, oversized frames, path escapes or stall mid-frame, while a real backup completes', async () => {
    const source = path.join(suite.work, 'good-source');
    await generateSampleTree(source, { seed: 21, smallFiles: 800, largeFiles: 1, largeFileBytes: 2 * 1024 * 1024 });
    const good = await suite.fleet.addHostWithAgent({ name: 'e2e-good', paths: [source] });
    const goodRun = await suite.fleet.api.startBackup(good.host.id);
    const { host, port } = suite.fleet.receiver;

    const attacks = await Promise.all([
      rawExchange(host, port, (socket) => {
        socket.write(Buffer.from('GET / HTTP/1.1\r\nHost: receiver\r\n\r\n'));
      }),
      rawExchange(host, port, (socket) => {
        const header = Buffer.alloc(5);
        header.writeUInt32BE(0xfffffff0, 0);
        header[4] = MessageType.Chunk;
        socket.write(header);
      }),
      rawExchange(host, port, (socket) => {
        // A frame that announces 1000 bytes and then stops: the idle timeout ends it.
        const header = Buffer.alloc(5);
        header.writeUInt32BE(1000, 0);
        header[4] = MessageType.Hello;
        socket.write(header);
        socket.write(Buffer.alloc(10));
      }),
      rawExchange(host, port, async (socket, received) => {
        socket.write(hello(intruder));
        await waitForMessage(received, (m) => m.type === MessageType.Welcome);
        const escape = { name: Buffer.from('..'), type: EntryType.File, mode: 0o644, uid: 0, gid: 0, mtimeNs: 0n, ctimeNs: 0n, ino: 1n, dev: 1n, size: 3n, nlink: 1, linkTarget: null, rdev: 0n };
        socket.write(encodeMessage({ type: MessageType.Chunk, seq: 1, dir: Buffer.from('/srv/nothing'), entries: [escape], last: true }));
      }),
      rawExchange(host, port, async (socket, received) => {
        socket.write(hello(victim));
        await waitForMessage(received, (m) => m.type === MessageType.Welcome);
        socket.write(encodeMessage({ type: MessageType.Chunk, seq: 1, dir: Buffer.from('/srv/../../etc'), entries: [], last: true }));
      }),
    ]);
    const [http, oversized, stalled, nameEscape, dirEscape] = attacks;
    for (const attack of attacks) expect(attack.closedByPeer).toBe(true);
    expect(errorOf(http?.messages ?? [])?.code).toBeDefined();
    expect(errorOf(oversized?.messages ?? [])?.code).toBe(ErrorCode.FrameTooLarge);
    expect(errorOf(stalled?.messages ?? [])?.code).toBe(ErrorCode.Timeout);
    expect(errorOf(nameEscape?.messages ?? [])?.code).toBe(ErrorCode.BadPath);
    expect(errorOf(dirEscape?.messages ?? [])?.code).toBe(ErrorCode.BadPath);

    // The well-behaved agent was not disturbed, and nothing escaped the repository.
    const done = await suite.fleet.api.waitForRun(goodRun.id, { timeoutMs: 150_000 });
    expect(done.status).toBe('succeeded');
    const target = path.join(suite.work, 'good-restore');
    const restored = await suite.fleet.api.waitForRun((await suite.fleet.api.restore(done.snapshotId ?? '', { targetDir: target })).id, { timeoutMs: 150_000 });
    expect(restored.status).toBe('succeeded');
    expect(formatDifferences(await compareTrees(source, path.join(target, source)))).toBe('');
    expect((await fs.readdir(suite.fleet.repositoryDir)).sort()).toEqual(['config.json', 'lock', 'packs', 'receiver-cache', 'runs', 'snapshots', 'tmp']);
    expect(await fs.readdir(path.dirname(suite.fleet.repositoryDir))).not.toContain('etc');
  }, 300_000);
});
