import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findOnPath, REDIS_INSTALL_HINT, startLocalRedis } from './local-redis';

describe('local redis-server', () => {
  let dir: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-path-'));
  });

  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('finds only executable files on the search path', () => {
    fs.writeFileSync(path.join(dir, 'redis-server'), '#!/bin/sh\n', { mode: 0o644 });
    expect(findOnPath('redis-server', dir)).toBeNull();
    fs.chmodSync(path.join(dir, 'redis-server'), 0o755);
    expect(findOnPath('redis-server', `/nonexistent${path.delimiter}${dir}`)).toBe(path.join(dir, 'redis-server'));
  });

  it('says in one line how to get Redis when redis-server is not installed', async () => {
    const attempt = startLocalRedis({ stateDir: dir, log: () => undefined, searchPath: dir });
    await expect(attempt).rejects.toMatchObject({ code: 'REDIS_NOT_INSTALLED', message: REDIS_INSTALL_HINT });
    expect(REDIS_INSTALL_HINT).toContain('apt-get install redis-server');
    expect(REDIS_INSTALL_HINT).toContain('REDIS_URL');
    expect(REDIS_INSTALL_HINT).not.toContain('\n');
  });
});
