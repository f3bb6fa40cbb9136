import { promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startPrivateRedis } from './private-redis';

/** Sends raw RESP commands on one connection and returns the raw reply. */
async function redis(port: number, commands: string): Promise<string> {
  const socket = net.connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let reply = '';
  socket.on('data', (data: Buffer) => (reply += data.toString('latin1')));
  socket.write(commands);
  await new Promise((resolve) => setTimeout(resolve, 200));
  socket.destroy();
  return reply;
}

describe('startPrivateRedis', () => {
  it('restarts on the same port keeping what was written, even after SIGKILL', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-private-redis-'));
    const server = await startPrivateRedis({ dir });
    try {
      expect(server.url).toBe(`redis://127.0.0.1:${server.port}`);
      expect(await redis(server.port, 'SET berth kept\r\n')).toBe('+OK\r\n');
      await server.stop('SIGKILL');
      expect(server.running).toBe(false);
      await expect(redis(server.port, 'PING\r\n')).rejects.toThrow(/ECONNREFUSED/);
      await server.start();
      expect(server.running).toBe(true);
      expect(await redis(server.port, 'GET berth\r\n')).toBe('$4\r\nkept\r\n');
    } finally {
      await server.stop();
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
