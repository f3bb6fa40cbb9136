import { ErrorCode } from '@berth/wire';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { FakeController } from './support/fake-controller';
import { makeSampleTree } from './support/sample-tree';
import { runBackup } from './support/test-agent';
import { waitFor } from './support/wait-for';

const BERTH = resolve(__dirname, '../../../bin/berth.js');
const TOKEN = 'receiver-token';
const host = { hostId: randomUUID(), hostName: 'proc-host', credential: 'agent-secret', credentialId: randomUUID() };

let dir: string;
let source: string;
let ca: Buffer;
let controller: FakeController;
let child: ChildProcess;
let output = '';
let port = 0;
let controllerUrl = '';

function grantBackup(runId: string): void {
  controller.grants.set(runId, { ...host, runId, kind: 'backup', attempt: 1, restore: null });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-receiver-proc-'));
  source = join(dir, 'source');
  await makeSampleTree(source);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=berth-test', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  ca = await readFile(join(dir, 'cert.pem'));
  await writeFile(join(dir, 'token'), `${TOKEN}\n`);
  controller = new FakeController(TOKEN);
  controllerUrl = await controller.start();
  child = spawn(process.execPath, [BERTH, 'receiver', '--listen', '127.0.0.1:0', '--repository', join(dir, 'repo'), '--controller', controllerUrl, '--token-file', join(dir, 'token')], {
    env: { PATH: process.env['PATH'], BERTH_TLS_CERT: join(dir, 'cert.pem'), BERTH_TLS_KEY: join(dir, 'key.pem'), BERTH_RECEIVER_MAX_SESSIONS: '1', BERTH_HEARTBEAT_MS: '100', BERTH_IDLE_TIMEOUT_MS: '3000' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await waitFor(() => /listening on/.test(output) || child.exitCode !== null, 'the receiver to listen', 20_000);
  const match = /berth receiver listening on 127\.0\.0\.1:(\d+) \(tls\), repository (\S+)/.exec(output);
  if (match === null) throw new Error(`receiver did not start:\n${output}`);
  expect(match[2]).toBe(join(dir, 'repo'));
  port = Number(match[1]);
});

afterAll(async () => {
  if (child.exitCode === null) child.kill('SIGKILL');
  await controller.stop();
  await rm(dir, { recursive: true, force: true });
});

/** Starts a receiver with `token` against the fake controller; resolves with its output once it logged the controller check. */
async function startWithToken(token: string): Promise<string> {
  await writeFile(join(dir, 'other-token'), `${token}\n`);
  const other = spawn(process.execPath, [BERTH, 'receiver', '--listen', '127.0.0.1:0', '--repository', join(dir, 'other-repo'), '--controller', controllerUrl, '--token-file', join(dir, 'other-token')], {
    env: { PATH: process.env['PATH'] },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  other.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
  other.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
  try {
    await waitFor(() => /controller check failed|accepts the receiver token/.test(text) || other.exitCode !== null, 'the controller check', 20_000);
    expect(other.exitCode).toBeNull();
    return text;
  } finally {
    other.kill('SIGKILL');
    await once(other, 'exit');
  }
}

describe('berth receiver as a process (TLS, controller verification, SIGTERM)', () => {
  it('checks at start that the controller answers and accepts its token', async () => {
    await waitFor(() => /accepts the receiver token|controller check failed/.test(output), 'the controller check');
    expect(output).toContain(`controller ${controllerUrl} answers and accepts the receiver token`);
  });

  it('keeps running but says so at once when the controller rejects its token', async () => {
    const text = await startWithToken('not-the-token');
    expect(text).toMatch(/listening on/);
    expect(text).toMatch(/controller check failed: the controller rejected the receiver token: bad receiver token; sessions cannot start until/);
  });

  it('binds its metrics endpoint before it says it is listening, and exits 1 naming the address when it cannot', async () => {
    const taken = net.createServer();
    await new Promise<void>((done) => taken.listen(0, '127.0.0.1', done));
    const takenPort = (taken.address() as net.AddressInfo).port;
    try {
      const other = spawn(process.execPath, [BERTH, 'receiver', '--listen', '127.0.0.1:0', '--repository', join(dir, 'metrics-repo'), '--controller', controllerUrl, '--token-file', join(dir, 'token')], {
        env: { PATH: process.env['PATH'], BERTH_RECEIVER_METRICS_LISTEN: `127.0.0.1:${takenPort}` },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let text = '';
      other.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
      other.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
      // 'close': the exit and all of its output.
      const closed = once(other, 'close') as Promise<[number | null]>;
      try {
        await waitFor(() => other.exitCode !== null, 'the receiver to give up', 20_000);
      } finally {
        other.kill('SIGKILL');
      }
      const [code] = await closed;
      expect(code).toBe(1);
      expect(text).toMatch(new RegExp(`berth receiver: cannot start: .*EADDRINUSE.*127\\.0\\.0\\.1:${takenPort}`));
      expect(text).not.toMatch(/listening on/);
    } finally {
      await new Promise<void>((done) => taken.close(() => done()));
    }
  });

  it('verifies the session with the controller using its token and stores a backup over TLS', async () => {
    const runId = randomUUID();
    grantBackup(runId);
    const result = await runBackup({ port, tlsCa: ca, ...host, runId, root: source });
    expect(result.closeReason).toBeNull();
    expect(result.done?.stats.files).toBe(46);
    expect(controller.seen.at(-1)).toEqual({ authorization: `Bearer ${TOKEN}`, body: { hostId: host.hostId, runId, credential: host.credential } });
  });

  it('maps the controller refusing a credential or a run to unauthorized and forbidden', async () => {
    const runId = randomUUID();
    grantBackup(runId);
    const wrong = await runBackup({ port, tlsCa: ca, ...host, credential: 'wrong', runId, root: source });
    expect(wrong.closeReason).toMatchObject({ code: ErrorCode.Unauthorized, remote: true });
    const unknown = await runBackup({ port, tlsCa: ca, ...host, runId: randomUUID(), root: source });
    expect(unknown.closeReason).toMatchObject({ code: ErrorCode.Forbidden, remote: true });
  });

  it('ends running and waiting sessions with shutting_down on SIGTERM and exits 0', async () => {
    const holding = randomUUID();
    const waiting = randomUUID();
    grantBackup(holding);
    grantBackup(waiting);
    let second: ReturnType<typeof runBackup> | null = null;
    const first = runBackup({
      port,
      tlsCa: ca,
      ...host,
      runId: holding,
      root: source,
      afterWelcome: async () => {
        second = runBackup({ port, tlsCa: ca, ...host, runId: waiting, root: source });
        await waitFor(() => controller.seen.some((s) => s.body.runId === waiting), 'the second session to be verified');
        await new Promise((r) => setTimeout(r, 200));
        child.kill('SIGTERM');
        await once(child, 'exit');
      },
    });
    const [a, b] = [await first, await second!];
    expect(a.closeReason).toMatchObject({ code: ErrorCode.ShuttingDown });
    expect(b.closeReason).toMatchObject({ code: ErrorCode.ShuttingDown });
    expect(b.waits).toEqual([1]);
    expect(child.exitCode).toBe(0);
    expect(output).toMatch(/SIGTERM: stopping/);
    expect(output).toMatch(new RegExp(`end host=${host.hostId} run=${waiting} role=backup reason=shutting_down`));
  });
});
