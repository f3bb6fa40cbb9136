import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compareTrees } from '@berth/harness';
import { parseOptions, type BenchOptions, UsageError } from './options';
import { applyDayOfChanges, census, generateSourceTree, writeWarmUpDirectory } from './source-tree';

function smallTree(extra: readonly string[] = []): BenchOptions {
  const options = parseOptions(['--small-files', '400', '--tree-files', '200', '--large-files', '2', '--large-mib', '1', ...extra]);
  if (options === 'help') throw new Error('unexpected help');
  return options;
}

describe('the transfer bench source tree and its days of changes', () => {
  let work: string;

  beforeAll(async () => {
    work = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-bench-tree-'));
  });

  afterAll(async () => {
    await fs.rm(work, { recursive: true, force: true });
  });

  it('parses --warm-link, off by default, and refuses it without case 4', () => {
    expect(smallTree().warmLink).toBe(false);
    expect(smallTree(['--warm-link']).warmLink).toBe(true);
    expect(() => smallTree(['--warm-link', '--cases', '1,2,3'])).toThrow(/--warm-link .* needs case 4/);
  });

  it('writes --warm-link\'s directory: small files and one over a content chunk, none like the source tree\'s', async () => {
    const warm = await writeWarmUpDirectory(path.join(work, 'warm-up'));
    expect(warm).toMatchObject({ files: 41, dirs: 0, symlinks: 0 });
    expect(warm.bytes).toBeGreaterThan(2 * 1024 * 1024);
    const source = path.join(work, 'source-for-warm-up');
    await generateSourceTree(source, smallTree());
    const names = new Set(await fs.readdir(path.join(work, 'warm-up')));
    const shared = (await fs.readdir(source, { recursive: true })).filter((name) => names.has(path.basename(name)));
    expect(shared).toEqual([]);
    // Writes a tree of 600 files: a few seconds on a loaded 2-core machine.
  }, 30_000);

  it('parses --warm-day, off by default, and refuses it without case 3', () => {
    expect(smallTree().warmDay).toBe(false);
    expect(smallTree(['--warm-day']).warmDay).toBe(true);
    expect(() => smallTree(['--warm-day', '--cases', '1,2'])).toThrow(UsageError);
    expect(() => smallTree(['--warm-day', '--cases', '1,2'])).toThrow(/--warm-day .* needs case 3/);
  });

  it('applies an earlier day and then the measured day, each with its own new names and renamed directory, both changing the tree', async () => {
    const options = smallTree(['--warm-day']);
    const root = path.join(work, 'source');
    const before = await generateSourceTree(root, options);
    const earlier = await applyDayOfChanges(root, options, 'earlier');
    const afterEarlier = path.join(work, 'after-earlier');
    await fs.cp(root, afterEarlier, { recursive: true, verbatimSymlinks: true });
    const measured = await applyDayOfChanges(root, options, 'measured');

    expect(earlier.renamedDir.from).toBe(path.join('tree', 'pkg-00'));
    expect(measured.renamedDir.from).toBe(path.join('tree', 'pkg-20'));
    for (const day of [earlier, measured]) {
      expect(day).toMatchObject({ edited: 4, added: 100, deleted: 100, patchedLarge: 2 });
    }
    const newNames = async (dir: string, prefix: string): Promise<number> => (await fs.readdir(path.join(dir, 'many-small'))).filter((name) => name.startsWith(prefix)).length;
    expect(await newNames(afterEarlier, 'earlier-')).toBe(100);
    expect(await newNames(afterEarlier, 'added-')).toBe(0);
    expect(await newNames(root, 'added-')).toBe(100);
    expect((await census(root)).files).toBe(before.files + 100 + 100 - 100 - 100);

    // The measured day still changes the large files and as many small ones after the earlier day.
    // fs.cp keeps no times: they are left out, so the cap on reported differences holds only real ones.
    const diff = await compareTrees(afterEarlier, root, { directoryMtimes: false, mtimeToleranceNs: 10n ** 18n });
    const changed = diff.differences.filter((d) => d.kind === 'content' || d.kind === 'size').map((d) => d.path);
    expect(changed).toEqual(expect.arrayContaining(['large/large-0.bin', 'large/large-1.bin']));
    expect(changed.filter((p) => p.startsWith('many-small/'))).toHaveLength(4);
    // Writes, copies and compares trees of 600 files: it took over 5 s on a loaded 2-core machine.
  }, 30_000);
});
