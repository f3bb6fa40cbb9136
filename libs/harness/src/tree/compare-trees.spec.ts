import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compareTrees, formatDifferences } from './compare-trees';
import { generateSampleTree } from './generate-sample-tree';

/** `cp -a` keeps content, modes, ownership, ns mtimes, symlinks and hard links: a faithful copy to start from. */
function faithfulCopy(from: string, to: string): void {
  execFileSync('cp', ['-a', '--', from, to]);
}

describe('compareTrees', () => {
  let work: string;
  let source: string;
  let copy: string;

  beforeAll(async () => {
    work = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-compare-'));
    source = path.join(work, 'source');
    await generateSampleTree(source, { seed: 5, smallFiles: 200, largeFiles: 2, largeFileBytes: 2 * 1024 * 1024, edgeCases: true });
  });

  afterAll(async () => {
    execFileSync('chmod', ['-R', 'u+rwx', work]);
    await fs.rm(work, { recursive: true, force: true });
  });

  beforeEach(() => {
    copy = path.join(work, `copy-${Date.now()}-${Math.random().toString(16).slice(2)}`);
    faithfulCopy(source, copy);
  });

  it('finds a faithful copy identical, to the nanosecond', async () => {
    const result = await compareTrees(source, copy);
    expect(formatDifferences(result)).toBe('');
    expect(result.equal).toBe(true);
    expect(result.entries).toBeGreaterThan(300);
    expect(result.mtime.exact).toBe(result.mtime.compared);
  });

  it('reports changed content of the same size, changed modes and a changed symlink target', async () => {
    const victim = path.join(copy, 'many-small', 'file-000007.dat');
    const stat = await fs.stat(victim);
    const bytes = await fs.readFile(victim);
    bytes[0] = (bytes[0] ?? 0) ^ 0xff;
    await fs.writeFile(victim, bytes);
    await fs.utimes(victim, stat.atime, stat.mtime);
    await fs.chmod(path.join(copy, 'modes', 'setuid'), 0o755);
    await fs.unlink(path.join(copy, 'links', 'to-file'));
    await fs.symlink('../nested/f1.txt', path.join(copy, 'links', 'to-file'));
    const result = await compareTrees(source, copy, { mtimeToleranceNs: 10n ** 12n });
    const found = result.differences.map((d) => `${d.kind} ${d.path} ${d.expected} ${d.actual}`);
    expect(found).toContain('content many-small/file-000007.dat same bytes as the source different bytes');
    expect(found).toContain('mode modes/setuid 04755 00755');
    expect(found).toContain('symlink-target links/to-file ../nested/f0.txt ../nested/f1.txt');
    expect(result.equal).toBe(false);
  });

  it('reports missing and extra entries, a type change and a broken hard-link group', async () => {
    await fs.unlink(path.join(copy, 'empty-file'));
    await fs.writeFile(path.join(copy, 'surprise'), 'x');
    await fs.rmdir(path.join(copy, 'empty-dir'));
    await fs.writeFile(path.join(copy, 'empty-dir'), '');
    const linked = path.join(copy, 'links', 'hard-0-a');
    const content = await fs.readFile(linked);
    const stat = await fs.stat(linked);
    await fs.unlink(linked);
    await fs.writeFile(linked, content, { mode: stat.mode & 0o7777 });
    await fs.utimes(linked, stat.atime, stat.mtime);
    const result = await compareTrees(source, copy, { mtimeToleranceNs: 10n ** 12n, directoryMtimes: false });
    const kinds = result.differences.map((d) => `${d.kind} ${d.path}`);
    expect(kinds).toEqual(expect.arrayContaining(['missing empty-file', 'extra surprise', 'type empty-dir', 'hard-links links/hard-0-a']));
    const hardLink = result.differences.find((d) => d.kind === 'hard-links' && d.path === 'links/hard-0-a');
    expect(hardLink?.expected).toBe('links/hard-0-a, links/hard-0-b, nested/f0.txt');
    expect(hardLink?.actual).toBe('(not linked)');
  });

  it('measures mtime deviations to the nanosecond and honours a tolerance', async () => {
    const target = path.join(copy, 'nested', 'd0', 'f2.txt');
    const before = await fs.stat(path.join(source, 'nested', 'd0', 'f2.txt'), { bigint: true });
    const seconds = before.mtimeNs / 1_000_000_000n;
    const nanos = (before.mtimeNs % 1_000_000_000n) + 1n; // one nanosecond later (GNU touch takes ns)
    execFileSync('touch', ['-m', '-h', '-d', `@${seconds}.${String(nanos).padStart(9, '0')}`, '--', target]);
    const strict = await compareTrees(source, copy);
    expect(strict.differences).toEqual([{ path: 'nested/d0/f2.txt', kind: 'mtime', expected: String(before.mtimeNs), actual: `${before.mtimeNs + 1n} (off by 1 ns)` }]);
    const tolerant = await compareTrees(source, copy, { mtimeToleranceNs: 1000n });
    expect(tolerant.equal).toBe(true);
    expect(tolerant.mtime.maxDeviationNs).toBe(1n);
    expect(tolerant.mtime.exact).toBe(tolerant.mtime.compared - 1);
  });

  it('compares names as raw bytes and shows them escaped', async () => {
    const rawName = Buffer.concat([Buffer.from(copy), Buffer.from('/names/'), Buffer.from([0x6c, 0x61, 0x74, 0x69, 0x6e, 0x31, 0x2d, 0xe9, 0xff, 0xfe])]);
    await fs.unlink(rawName);
    await fs.unlink(path.join(copy, 'names', 'new\nline'));
    const result = await compareTrees(source, copy, { directoryMtimes: false });
    expect(result.differences.map((d) => d.path).sort()).toEqual(['names/latin1-\\xe9\\xff\\xfe', 'names/new\\x0aline']);
  });

  it('compares ownership and device numbers when running as root', async () => {
    if (process.getuid?.() !== 0) {
      const result = await compareTrees(source, copy);
      expect(result.equal).toBe(true);
      return;
    }
    await fs.lchown(path.join(copy, 'modes', 'other-owner'), 1234, 9999);
    const devices = (await fs.readdir(path.join(copy, 'special'))).filter((n) => n.startsWith('char-'));
    for (const name of devices) {
      await fs.unlink(path.join(copy, 'special', name));
      execFileSync('mknod', ['-m', '0600', path.join(copy, 'special', name), 'c', '1', '5']);
    }
    const result = await compareTrees(source, copy, { directoryMtimes: false, mtimeToleranceNs: 10n ** 15n });
    const found = result.differences.map((d) => `${d.kind} ${d.path} ${d.expected} ${d.actual}`);
    expect(found).toContain('gid modes/other-owner 5678 9999');
    if (devices.length > 0) expect(found).toContain(`device special/char-null ${(1 << 8) | 3} ${(1 << 8) | 5}`);
  });
});
