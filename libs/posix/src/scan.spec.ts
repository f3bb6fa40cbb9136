import { lstatSync, promises as fs, readlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DirectoryScan, scanDirectory, scanDirectoryWith, setTimesNs, type ScanCalls } from './index';

const nodeCalls: ScanCalls = {
  readdir: (p) => fs.readdir(p, { encoding: 'buffer' }),
  lstat: (p) => lstatSync(p, { bigint: true }),
  readlink: (p) => readlinkSync(p, { encoding: 'buffer' }),
};

describe('directory scans', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-scan-'));
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  const native = (p: string | Buffer): Promise<Buffer> => {
    if (scanDirectory === null) throw new Error('the native addon is not built');
    return scanDirectory(typeof p === 'string' ? Buffer.from(p) : p);
  };

  it('gives the same records natively and from Node\'s calls, names in byte order', async () => {
    await fs.mkdir(path.join(dir, 'sub'));
    await fs.writeFile(path.join(dir, 'b-file'), 'x'.repeat(1000));
    await fs.writeFile(path.join(dir, 'B-upper'), '');
    await fs.writeFile(Buffer.concat([Buffer.from(`${dir}/`), Buffer.from([0xff, 0x0a])]), 'raw');
    await fs.symlink('../some/target', path.join(dir, 'link'));
    await setTimesNs(path.join(dir, 'b-file'), 1n, -1_500_000_001n, { followSymlinks: false });
    await setTimesNs(path.join(dir, 'B-upper'), 1n, 4_102_444_800_999_999_999n, { followSymlinks: false });
    const fast = await native(dir);
    const slow = await scanDirectoryWith(nodeCalls, Buffer.from(dir));
    expect(fast.equals(slow)).toBe(true);

    const scan = new DirectoryScan(fast);
    const names = Array.from({ length: scan.length }, (_, i) => scan.name(i));
    expect(names).toEqual([Buffer.from('B-upper'), Buffer.from('b-file'), Buffer.from('link'), Buffer.from('sub'), Buffer.from([0xff, 0x0a])]);
    const file = lstatSync(path.join(dir, 'b-file'), { bigint: true });
    expect(scan.errno(1)).toBe(0);
    expect(scan.mode(1)).toBe(Number(file.mode));
    expect(scan.bigint(1, 'mtimeNs')).toBe(-1_500_000_001n);
    expect(scan.bigint(0, 'mtimeNs')).toBe(4_102_444_800_999_999_999n);
    expect(scan.bigint(1, 'ctimeNs')).toBe(file.ctimeNs);
    expect(scan.bigint(1, 'ino')).toBe(file.ino);
    expect(scan.bigint(1, 'dev')).toBe(file.dev);
    expect(scan.number(1, 'size')).toBe(1000);
    expect(scan.uid(1)).toBe(Number(file.uid));
    expect(scan.nlink(3)).toBe(2);
    expect(scan.linkTarget(2)).toEqual(Buffer.from('../some/target'));
    expect(scan.linkTarget(1)).toBeNull();
  });

  it('sorts names that share their first 8 or 16 bytes, or begin one another, in byte order', async () => {
    const names = [
      'same-prefix-0123456789-b',
      'same-prefix-0123456789-a',
      'same-prefix-0123456789',
      'same-prefix-0123',
      'same-prefix-0124',
      'same-prefix-012',
      'same-pre',
      'same-prf',
      'same-pr',
      'same-prefix-0123456789-a-longer',
      'Same-prefix-0123456789',
    ].map((name) => Buffer.from(name));
    names.push(Buffer.concat([Buffer.from('same-prefix-0123'), Buffer.from([0xff, 0x01])]), Buffer.concat([Buffer.from('same-pre'), Buffer.from([0x80])]));
    for (const name of names) writeFileSync(Buffer.concat([Buffer.from(`${dir}/`), name]), '');
    const fast = await native(dir);
    expect(fast.equals(await scanDirectoryWith(nodeCalls, Buffer.from(dir)))).toBe(true);
    const scan = new DirectoryScan(fast);
    expect(Array.from({ length: scan.length }, (_, i) => scan.name(i))).toEqual([...names].sort(Buffer.compare));
  });

  it('records an entry whose lstat fails and lists the rest', async () => {
    await fs.writeFile(path.join(dir, 'a'), 'a');
    await fs.writeFile(path.join(dir, 'gone'), 'g');
    const calls: ScanCalls = {
      ...nodeCalls,
      lstat: (p) => {
        if (p.toString().endsWith('/gone')) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT', errno: -os.constants.errno.ENOENT });
        return nodeCalls.lstat(p);
      },
    };
    const scan = new DirectoryScan(await scanDirectoryWith(calls, Buffer.from(dir)));
    expect(scan.length).toBe(2);
    expect(scan.errno(0)).toBe(0);
    expect(scan.errno(1)).toBe(os.constants.errno.ENOENT);
    expect(scan.failedCall(1)).toBe('lstat');
  });

  it('rejects with Node\'s error codes for a missing path, a file, and a symlink (never followed)', async () => {
    await fs.writeFile(path.join(dir, 'file'), 'x');
    await fs.mkdir(path.join(dir, 'real'));
    await fs.symlink('real', path.join(dir, 'alias'));
    const failure = async (p: string): Promise<NodeJS.ErrnoException> => {
      try {
        await native(p);
      } catch (error) {
        return error as NodeJS.ErrnoException;
      }
      throw new Error(`${p} was scanned`);
    };
    const missing = await failure(path.join(dir, 'missing'));
    expect([missing.code, missing.syscall]).toEqual(['ENOENT', 'scandir']);
    expect(missing.message).toMatch(/^ENOENT: no such file or directory, scandir '.*missing'$/);
    expect((await failure(path.join(dir, 'file'))).code).toBe('ENOTDIR');
    expect(['ELOOP', 'ENOTDIR']).toContain((await failure(path.join(dir, 'alias'))).code);
  });

  it('lists an empty directory, and a large one (its lstats shared among threads) as Node\'s calls do', async () => {
    expect(new DirectoryScan(await native(dir)).length).toBe(0);
    // Written synchronously: 5,000 awaited writes took longer than Jest's 5 s on a loaded machine.
    for (let i = 0; i < 5000; i++) writeFileSync(path.join(dir, `f${i}`), 'x'.repeat(i % 97));
    await fs.symlink('f1', path.join(dir, 'f1-link'));
    const fast = await native(dir);
    expect(fast.equals(await scanDirectoryWith(nodeCalls, Buffer.from(dir)))).toBe(true);
    const scan = new DirectoryScan(fast);
    expect(scan.length).toBe(5001);
    for (let i = 1; i < scan.length; i++) expect(Buffer.compare(scan.name(i - 1), scan.name(i))).toBe(-1);
  }, 60_000);
});
