import { promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { claimPort, freePort } from './free-port';

describe('freePort', () => {
  let claimDir: string;

  beforeEach(async () => {
    claimDir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-port-claims-spec-'));
  });

  afterEach(async () => {
    await fs.rm(claimDir, { recursive: true, force: true });
  });

  it('hands a claimed port to nobody else until the claim is ten minutes old', async () => {
    expect(await claimPort(claimDir, 40001)).toBe(true);
    expect(await claimPort(claimDir, 40001)).toBe(false);
    expect(await claimPort(claimDir, 40002)).toBe(true);
    const old = new Date(Date.now() - 11 * 60_000);
    await fs.utimes(path.join(claimDir, '40001'), old, old);
    expect(await claimPort(claimDir, 40001)).toBe(true);
    expect(await claimPort(claimDir, 40001)).toBe(false);
  });

  it('never hands out the same port twice, even when nothing binds the ports in between', async () => {
    const ports = await Promise.all(Array.from({ length: 64 }, () => freePort({ claimDir })));
    expect(new Set(ports).size).toBe(ports.length);
    expect((await fs.readdir(claimDir)).map(Number).sort()).toEqual([...ports].sort());
  });

  it('returns a port a server can bind', async () => {
    const port = await freePort({ claimDir });
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
    expect((server.address() as net.AddressInfo).port).toBe(port);
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
});
