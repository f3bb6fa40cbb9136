import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..', '..');
const FIXTURE = join(__dirname, 'fixtures', 'close-before-ready.ts');

/** Runs the fixture in a process of its own (an unhandled rejection ends a process, not a test). */
async function closeBeforeReady(kind: 'bullmq' | 'closable', port: number): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['-r', '@swc-node/register', FIXTURE, kind, String(port)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, output };
}

describe('ClosableRedisConnection', () => {
  let server: Server;
  let port: number;
  const sockets = new Set<Socket>();

  beforeAll(async () => {
    // Accepts connections and never answers: a client to it stays connecting.
    server = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  it("closes a queue that never connected without an unhandled rejection, where BullMQ's own class dies of one", async () => {
    const own = await closeBeforeReady('bullmq', port);
    expect(own.code).not.toBe(0);
    expect(own.output).toContain("Emitted 'error' event on RedisConnection");
    const closable = await closeBeforeReady('closable', port);
    expect(closable).toEqual({ code: 0, output: 'closed\n' });
  });
});
