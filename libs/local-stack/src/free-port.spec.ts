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

  const WINDOW = 30 * 60_000;
  const t0 = 1000 * WINDOW;

  it('hands a claimed port to nobody else for at least one half-hour window, and at most two', async () => {
    expect(await claimPort(claimDir, 40001, t0)).toBe(true);
    expect(await claimPort(claimDir, 40001, t0 + 1)).toBe(false);
    expect(await claimPort(claimDir, 40002, t0)).toBe(true);
    expect(await claimPort(claimDir, 40001, t0 + WINDOW)).toBe(false);
    expect(await claimPort(claimDir, 40001, t0 + 2 * WINDOW)).toBe(true);
    // The window of t0 holds no claim that counts now: it is gone.
    expect((await fs.readdir(claimDir)).sort()).toEqual([String(1001), String(1002)]);
  });

  it('of two callers racing across the end of a window, never lets both have the port', async () => {
    // The later window's caller claims first: the earlier one, still in its own window, sees that claim.
    expect(await claimPort(claimDir, 40003, t0 + WINDOW)).toBe(true);
    expect(await claimPort(claimDir, 40003, t0 + WINDOW - 1)).toBe(false);
    // And the other way round.
    expect(await claimPort(claimDir, 40004, t0 + WINDOW - 1)).toBe(true);
    expect(await claimPort(claimDir, 40004, t0 + WINDOW)).toBe(false);
  });

  it('of many callers racing for one port at once, lets exactly one have it', async () => {
    const results = await Promise.all(Array.from({ length: 16 }, (_, i) => claimPort(claimDir, 40005, t0 + (i % 2) * WINDOW)));
    const winners = results.filter(Boolean).length;
    expect(winners).toBeLessThanOrEqual(1);
    // Racers in both windows may all back off (each then tries another port); a winner's claim holds.
    expect(await claimPort(claimDir, 40005, t0 + WINDOW)).toBe(winners === 0);
  });

  it('never hands out the same port twice, even when nothing binds the ports in between', async () => {
    const ports = await Promise.all(Array.from({ length: 64 }, () => freePort({ claimDir })));
    expect(new Set(ports).size).toBe(ports.length);
    const windows = await fs.readdir(claimDir);
    expect(windows).toHaveLength(1);
    expect((await fs.readdir(path.join(claimDir, windows[0]!))).map(Number).sort()).toEqual([...ports].sort());
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
