import { EntryType, ErrorCode, MessageType, PROTOCOL_VERSION, encodeMessage, type EntryMeta, type Message } from '@berth/wire';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { viewLocal, viewSnapshot } from './support/compare';
import { RawClient } from './support/frames';
import { startReceiver, type ReceiverFixture } from './support/receiver-fixture';
import { makeSampleTree } from './support/sample-tree';
import { runBackup } from './support/test-agent';

const host = { hostId: randomUUID(), hostName: 'good', credential: 'good-secret' };
const other = { hostId: randomUUID(), hostName: 'other', credential: 'other-secret' };
const IDLE_MS = 600;

let fx: ReceiverFixture;
let source: string;

beforeAll(async () => {
  fx = await startReceiver({ heartbeatMs: 50, idleTimeoutMs: IDLE_MS, helloTimeoutMs: 1500, maxSessions: 16, creditOps: 16, chunkMaxEntries: 16 });
  fx.verifier.addHost(host).addHost(other);
  source = await mkdtemp(join(tmpdir(), 'berth-hostile-'));
  await makeSampleTree(source);
});

afterAll(async () => {
  await fx.stop();
  await rm(source, { recursive: true, force: true });
});

function hello(runId: string, credential = host.credential, hostId = host.hostId): Message {
  return { type: MessageType.Hello, protocol: PROTOCOL_VERSION, role: 'backup', hostId, runId, credential, agentVersion: 'hostile' };
}

function file(name: string | Buffer, size = 10n): EntryMeta {
  return { name: typeof name === 'string' ? Buffer.from(name) : name, type: EntryType.File, mode: 0o644, uid: 0, gid: 0, mtimeNs: 1n, ctimeNs: 1n, ino: 1n, dev: 1n, size, nlink: 1, linkTarget: null, rdev: 0n };
}

function chunk(dir: string, entries: EntryMeta[], seq = 1): Message {
  return { type: MessageType.Chunk, seq, dir: Buffer.from(dir), entries, last: true };
}

/** Connects, authenticates as a fresh backup run of `host`, and waits for Welcome. */
async function authenticated(): Promise<RawClient> {
  const runId = randomUUID();
  fx.verifier.addRun({ runId, hostId: host.hostId, kind: 'backup' });
  const client = await RawClient.connect(fx.port);
  client.write(encodeMessage(hello(runId)));
  while (!client.messages.some((m) => m.type === MessageType.Welcome)) await new Promise((r) => setTimeout(r, 5));
  return client;
}

interface HostileCase {
  readonly name: string;
  readonly code: string;
  run(): Promise<RawClient>;
}

async function raw(bytes: Buffer): Promise<RawClient> {
  const client = await RawClient.connect(fx.port);
  client.write(bytes);
  return client;
}

async function afterWelcome(...frames: Message[]): Promise<RawClient> {
  const client = await authenticated();
  for (const frame of frames) client.write(encodeMessage(frame));
  return client;
}

const cases: HostileCase[] = [
  { name: 'garbage bytes (an HTTP request)', code: ErrorCode.FrameTooLarge, run: () => raw(Buffer.from('GET / HTTP/1.1\r\nHost: receiver\r\n\r\n')) },
  { name: 'an unknown message type', code: ErrorCode.Protocol, run: () => raw(Buffer.from([0, 0, 0, 2, 0xee, 0])) },
  { name: 'an oversized length header', code: ErrorCode.FrameTooLarge, run: () => raw(Buffer.from([0x00, 0xff, 0xff, 0xff])) },
  { name: 'a frame stalled half-way before Hello', code: ErrorCode.Timeout, run: () => raw(encodeMessage(hello(randomUUID())).subarray(0, 9)) },
  {
    name: 'a frame stalled half-way after Welcome',
    code: ErrorCode.Timeout,
    run: async () => {
      const client = await authenticated();
      client.write(encodeMessage(chunk('/', [file('a')])).subarray(0, 20));
      return client;
    },
  },
  { name: 'a message other than Hello first', code: ErrorCode.Protocol, run: () => raw(encodeMessage({ type: MessageType.Finish })) },
  { name: 'a wrong credential', code: ErrorCode.Unauthorized, run: () => raw(encodeMessage(hello(randomUUID(), 'not-the-secret'))) },
  {
    name: "a write to another host's run",
    code: ErrorCode.Forbidden,
    run: () => {
      const runId = randomUUID();
      fx.verifier.addRun({ runId, hostId: other.hostId, kind: 'backup' });
      return raw(encodeMessage(hello(runId)));
    },
  },
  { name: 'a name ".."', code: ErrorCode.BadPath, run: () => afterWelcome(chunk('/', [file('..')])) },
  { name: 'a name with "/" (absolute)', code: ErrorCode.BadPath, run: () => afterWelcome(chunk('/', [file('/etc/passwd')])) },
  { name: 'a name with a NUL byte', code: ErrorCode.BadPath, run: () => afterWelcome(chunk('/', [file('a\0b')])) },
  { name: 'a 256-byte name', code: ErrorCode.BadPath, run: () => afterWelcome(chunk('/', [file(Buffer.alloc(256, 0x61))])) },
  { name: 'a directory path escaping with ".."', code: ErrorCode.BadPath, run: () => afterWelcome(chunk('/srv/../../etc', [file('x')])) },
  { name: 'a relative directory path', code: ErrorCode.BadPath, run: () => afterWelcome(chunk('etc', [file('x')])) },
  {
    name: 'a directory entry for a subdirectory never committed',
    code: ErrorCode.Protocol,
    run: () => afterWelcome(chunk('/', [{ ...file('sub'), type: EntryType.Dir, size: 0n }])),
  },
  {
    name: 'entries beyond the entry credit',
    code: ErrorCode.Protocol,
    run: () => {
      const many = (prefix: string): EntryMeta[] => Array.from({ length: 10 }, (_, i) => file(`${prefix}${i}`));
      return afterWelcome(chunk('/a', many('x'), 1), chunk('/b', many('y'), 2));
    },
  },
  {
    name: 'a packed chunk whose names escape through the prefix coding',
    code: ErrorCode.BadPath,
    run: () => afterWelcome({ type: MessageType.PackedChunk, seq: 1, dir: Buffer.from('/'), entries: [file('a'), file('a/..')], last: true }),
  },
  {
    name: 'a directory digest after that directory was sent',
    code: ErrorCode.Protocol,
    run: () => afterWelcome(chunk('/d', [file('x')], 1), { type: MessageType.DirDigest, seq: 2, dir: Buffer.from('/d'), digest: Buffer.alloc(32) }),
  },
  {
    name: 'a directory digest that goes back in seq',
    code: ErrorCode.Protocol,
    run: () => afterWelcome(chunk('/d', [file('x')], 5), { type: MessageType.DirDigest, seq: 5, dir: Buffer.from('/e'), digest: Buffer.alloc(32) }),
  },
  {
    name: 'content for a file that was not asked for',
    code: ErrorCode.Protocol,
    run: () => afterWelcome({ type: MessageType.FileData, seq: 9, index: 0, data: Buffer.from('sneaky') }),
  },
];

describe('hostile clients lose only their own session', () => {
  it('ends each hostile session with the right Error while a well-behaved backup completes', async () => {
    const goodRun = randomUUID();
    fx.verifier.addRun({ runId: goodRun, hostId: host.hostId, kind: 'backup' });
    const hostile: Array<Promise<RawClient>> = [];
    const good = runBackup({
      port: fx.port,
      ...host,
      runId: goodRun,
      root: source,
      // The good session is admitted and mid-run while every hostile client is being dealt with.
      afterWelcome: async () => {
        for (const c of cases) hostile.push(c.run());
        await Promise.all((await Promise.all(hostile)).map((client) => client.closed));
      },
    });
    const result = await good;
    expect(result.done).not.toBeNull();
    expect(await viewSnapshot(fx.repository, result.done!.rootTree)).toEqual(await viewLocal(source));

    const clients = await Promise.all(hostile);
    cases.forEach((c, i) => {
      const errors = clients[i]!.messages.filter((m) => m.type === MessageType.Error);
      expect({ case: c.name, errors: errors.map((e) => (e.type === MessageType.Error ? e.code : null)) }).toEqual({ case: c.name, errors: [c.code] });
    });
    expect(fx.logs.filter((l) => / end .*reason=(protocol|bad_path|timeout|frame_too_large|unauthorized|forbidden)/.test(l))).toHaveLength(cases.length);
    const deadline = Date.now() + 3000;
    while (fx.receiver.metrics().connections > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(fx.receiver.metrics().connections).toBe(0);
  });

  it('keeps serving after all of that', async () => {
    const runId = randomUUID();
    fx.verifier.addRun({ runId, hostId: host.hostId, kind: 'backup' });
    const result = await runBackup({ port: fx.port, ...host, runId, root: source });
    expect(result.done?.rootTree).toBeDefined();
  });
});
