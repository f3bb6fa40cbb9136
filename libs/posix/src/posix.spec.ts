import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NodeKind, deviceMajor, deviceMinor, makeNode, nativeSupport, setTimesNs } from './index';

describe('@berth/posix', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-posix-'));
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('is built with the native addon in this workspace', () => {
    expect(nativeSupport()).toBe(true);
  });

  it('sets mtime and atime to the exact nanosecond', async () => {
    const file = path.join(dir, 'f');
    await fs.writeFile(file, 'x');
    const samples = [1_700_000_000_123_456_789n, 1_234_567_890_000_000_001n, 999_999_999n, 4_102_444_800_999_999_999n];
    for (const ns of samples) {
      await setTimesNs(file, ns - 7n, ns, { followSymlinks: false });
      const st = await fs.lstat(file, { bigint: true });
      expect(st.mtimeNs).toBe(ns);
      expect(st.atimeNs).toBe(ns - 7n);
    }
  });

  it('sets a symlink\'s own times without touching its target', async () => {
    const target = path.join(dir, 'target');
    const link = path.join(dir, 'link');
    await fs.writeFile(target, 'x');
    await fs.symlink('target', link);
    const before = (await fs.stat(target, { bigint: true })).mtimeNs;
    await setTimesNs(Buffer.from(link), 1n, 1_600_000_000_000_000_042n, { followSymlinks: false });
    expect((await fs.lstat(link, { bigint: true })).mtimeNs).toBe(1_600_000_000_000_000_042n);
    expect((await fs.stat(target, { bigint: true })).mtimeNs).toBe(before);
  });

  it('takes raw-byte names that are not UTF-8', async () => {
    const name = Buffer.concat([Buffer.from(dir + '/'), Buffer.from([0xff, 0xfe, 0x0a, 0x41])]);
    await fs.writeFile(name, 'x');
    await setTimesNs(name, 0n, 1_500_000_000_000_000_777n, { followSymlinks: false });
    expect((await fs.lstat(name, { bigint: true })).mtimeNs).toBe(1_500_000_000_000_000_777n);
  });

  it('reports a missing file with its errno code', async () => {
    await expect(setTimesNs(path.join(dir, 'missing'), 0n, 0n, { followSymlinks: false })).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('creates a FIFO with the requested permission bits', async () => {
    const fifo = path.join(dir, 'fifo');
    const umask = process.umask(0);
    try {
      await makeNode(fifo, NodeKind.Fifo, 0o640, 0n);
    } finally {
      process.umask(umask);
    }
    const st = await fs.lstat(fifo);
    expect(st.isFIFO()).toBe(true);
    expect(st.mode & 0o7777).toBe(0o640);
  });

  it('creates a character device with its major and minor numbers when root', async () => {
    const device = path.join(dir, 'null');
    const devNull = await fs.stat('/dev/null', { bigint: true });
    if (process.getuid?.() !== 0) {
      await expect(makeNode(device, NodeKind.CharDevice, 0o666, devNull.rdev)).rejects.toMatchObject({ code: 'EPERM' });
      return;
    }
    await makeNode(device, NodeKind.CharDevice, 0o600, devNull.rdev);
    const st = await fs.lstat(device, { bigint: true });
    expect(st.isCharacterDevice()).toBe(true);
    expect(st.rdev).toBe(devNull.rdev);
    expect(deviceMajor(st.rdev)).toBe(1n);
    expect(deviceMinor(st.rdev)).toBe(3n);
  });
});
