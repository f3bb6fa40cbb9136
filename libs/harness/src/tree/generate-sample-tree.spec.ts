import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compareTrees } from './compare-trees';
import { generateSampleTree } from './generate-sample-tree';
import { mutateSampleTree } from './mutate-sample-tree';

const IGNORE_TIMES = { mtimeToleranceNs: 10n ** 18n, directoryMtimes: false } as const;

describe('generateSampleTree and mutateSampleTree', () => {
  let work: string;

  beforeAll(async () => {
    work = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-sample-'));
  });

  afterAll(async () => {
    execFileSync('chmod', ['-R', 'u+rwx', work]);
    await fs.rm(work, { recursive: true, force: true });
  });

  const spec = { smallFiles: 120, largeFiles: 2, largeFileBytes: 1024 * 1024 } as const;

  it('writes the same tree for the same seed, and a different one for another seed', async () => {
    const a = await generateSampleTree(path.join(work, 'a'), { ...spec, seed: 9 });
    await generateSampleTree(path.join(work, 'b'), { ...spec, seed: 9 });
    await generateSampleTree(path.join(work, 'c'), { ...spec, seed: 10 });
    expect((await compareTrees(a.root, path.join(work, 'b'), IGNORE_TIMES)).differences).toEqual([]);
    const other = await compareTrees(a.root, path.join(work, 'c'), IGNORE_TIMES);
    expect(other.differences.filter((d) => d.kind === 'content' || d.kind === 'size').length).toBeGreaterThan(100);
  });

  it('summarises what it wrote: files in one directory, large files, links, bytes', async () => {
    const summary = await generateSampleTree(path.join(work, 'd'), { ...spec, seed: 1 });
    expect((await fs.readdir(summary.smallFilesDir)).length).toBe(120);
    expect(summary.largeFiles.map((f) => path.basename(f))).toEqual(['large-0.bin', 'large-1.bin']);
    expect((await fs.stat(path.join(summary.root, 'large', 'copy-of-large-0.bin'))).size).toBe(1024 * 1024);
    const comparison = await compareTrees(summary.root, summary.root);
    expect(comparison.files).toBe(summary.files);
    expect(comparison.bytes).toBe(summary.bytes);
    expect((await fs.lstat(path.join(summary.root, 'links', 'dangling'))).isSymbolicLink()).toBe(true);
    expect((await fs.stat(path.join(summary.root, 'links', 'hard-large'))).nlink).toBe(2);
    expect((await fs.stat(path.join(summary.root, 'modes', 'sticky-dir'))).mode & 0o7777).toBe(0o1777);
    expect((await fs.stat(path.join(summary.root, 'modes', 'setuid'))).mode & 0o7777).toBe(0o4755);
    await expect(generateSampleTree(summary.root)).rejects.toThrow(/is not empty/);
  });

  it('changes a tree as described, and compareTrees sees exactly those changes', async () => {
    const root = path.join(work, 'e');
    await generateSampleTree(root, { ...spec, seed: 1 });
    const before = path.join(work, 'e-before');
    execFileSync('cp', ['-a', '--', root, before]);
    const changes = await mutateSampleTree(root, { seed: 3, edit: 4, add: 5, delete: 3, patchLargeBytes: 4096 });
    expect(changes.patched).toEqual([{ path: 'large/large-0.bin', offset: (1024 * 1024 - 4096) / 2, length: 4096 }]);
    const diff = await compareTrees(before, root, { directoryMtimes: false });
    const byKind = (kind: string): string[] =>
      diff.differences
        .filter((d) => d.kind === kind)
        .map((d) => d.path)
        .sort();
    expect(byKind('missing')).toEqual([...changes.deleted].sort());
    expect(byKind('extra')).toEqual([...changes.added].sort());
    const changedContent = [...byKind('content'), ...byKind('size')].sort();
    // large-0.bin is hard-linked as links/hard-large: both names see the patch.
    expect(changedContent).toEqual([...changes.edited, 'large/large-0.bin', 'links/hard-large'].sort());
  });

  it('mutates a tree a second time when the second mutation names its new files otherwise', async () => {
    const root = path.join(work, 'f');
    await generateSampleTree(root, { ...spec, seed: 1 });
    const first = await mutateSampleTree(root, { seed: 3, edit: 2, add: 3, delete: 2, patchLargeBytes: 0 });
    // Adds only: a refused mutation that edited or deleted first would leave the tree half changed.
    await expect(mutateSampleTree(root, { seed: 4, edit: 0, add: 3, delete: 0, patchLargeBytes: 0 })).rejects.toMatchObject({ code: 'EEXIST' });
    const second = await mutateSampleTree(root, { seed: 5, edit: 2, add: 3, delete: 2, patchLargeBytes: 0, addedPrefix: 'later-' });
    expect(first.added).toEqual(['many-small/added-0000.dat', 'many-small/added-0001.dat', 'many-small/added-0002.dat']);
    expect(second.added).toEqual(['many-small/later-0000.dat', 'many-small/later-0001.dat', 'many-small/later-0002.dat']);
    const names = await fs.readdir(path.join(root, 'many-small'));
    // The second mutation may delete what the first added; everything else either added is there.
    const kept = [...first.added.filter((added) => !second.deleted.includes(added)), ...second.added];
    expect(kept.length).toBeGreaterThanOrEqual(4);
    for (const added of kept) expect(names).toContain(path.basename(added));
  });
});
