import { execFileSync } from 'node:child_process';
import { lstatSync, mkdtempSync, readlinkSync, rmSync } from 'node:fs';
import { chmod, link, lutimes, mkdir, readdir, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scanDirectory, setTimesNs } from '@berth/posix';
import { EntryType, packEntries } from '@berth/wire';
import { TreeWalker, type DirectoryListing, type WalkProblem } from '../src/walk/tree-walker';
import { nodeWalkFs, type WalkFs } from '../src/walk/walk-fs';

// Real files and sockets; generous under load (the default is 5 s).
jest.setTimeout(30_000);

const B = (text: string): Buffer => Buffer.from(text, 'utf8');
const cat = (...parts: Array<Buffer | string>): Buffer => Buffer.concat(parts.map((part) => (typeof part === 'string' ? B(part) : part)));

async function collect(walker: TreeWalker): Promise<DirectoryListing[]> {
  const out: DirectoryListing[] = [];
  for await (const listing of walker.directories()) out.push(listing);
  return out;
}

const paths = (listings: DirectoryListing[]): string[] => listings.map((listing) => listing.path.toString('latin1'));
const names = (listing: DirectoryListing | undefined): string[] => (listing?.list.entries() ?? []).map((entry) => entry.name.toString('latin1'));
const find = (listings: DirectoryListing[], path: string): DirectoryListing | undefined => listings.find((listing) => listing.path.toString('latin1') === path);

/** The walk without the one-call scan: readdir, lstat and readlink (a system without the native addon). */
const callsOnly: WalkFs = {
  readdir: (path) => readdir(path, { encoding: 'buffer' }),
  lstat: (path) => lstatSync(path, { bigint: true }),
  readlink: (path) => readlinkSync(path, { encoding: 'buffer' }),
};

const WALKS: Array<[string, WalkFs]> = [
  ['one scan per directory', nodeWalkFs],
  ['readdir, lstat and readlink', callsOnly],
];

describe.each(WALKS)('TreeWalker on a real filesystem, %s', (_label, walkFs) => {
  let base: string;
  beforeEach(() => {
    base = mkdtempSync(join(tmpdir(), 'berth-walk-'));
  });
  afterEach(async () => {
    await rm(base, { recursive: true, force: true });
  });

  it('yields directories post-order with names in byte order, "/" last, ancestors holding only the selected component', async () => {
    for (const dir of ['b/y', 'b/x', 'a/z', 'B', 'a-']) await mkdir(join(base, dir), { recursive: true });
    await writeFile(join(base, 'c'), 'c');
    await writeFile(join(base, 'b/x/f'), 'f');
    const listings = await collect(new TreeWalker({ fs: walkFs, paths: [base] }));
    const ancestors = ['/', ...base.split('/').slice(1, -1).map((_, i, parts) => `/${parts.slice(0, i + 1).join('/')}`)].reverse();
    expect(paths(listings)).toEqual([`${base}/B`, `${base}/a/z`, `${base}/a`, `${base}/a-`, `${base}/b/x`, `${base}/b/y`, `${base}/b`, base, ...ancestors]);
    expect(names(find(listings, base))).toEqual(['B', 'a', 'a-', 'b', 'c']);
    expect(names(find(listings, '/'))).toEqual([base.split('/')[1]]);
    const rootEntry = find(listings, '/')!.list.entries()[0]!;
    expect(rootEntry.type).toBe(EntryType.Dir);
  });

  it('combines several configured paths into one tree', async () => {
    for (const dir of ['p1/sub/deep', 'p1/other', 'p2', 'p3']) await mkdir(join(base, dir), { recursive: true });
    const listings = await collect(new TreeWalker({ fs: walkFs, paths: [join(base, 'p2'), join(base, 'p1/sub'), join(base, 'p1/sub/deep')] }));
    expect(names(find(listings, base))).toEqual(['p1', 'p2']);
    expect(names(find(listings, join(base, 'p1')))).toEqual(['sub']);
    expect(names(find(listings, join(base, 'p1/sub')))).toEqual(['deep']);
    expect(paths(listings).indexOf(join(base, 'p1/sub/deep'))).toBeLessThan(paths(listings).indexOf(join(base, 'p1/sub')));
    expect(find(listings, join(base, 'p3'))).toBeUndefined();
  });

  it('honours excludes and does not descend into excluded directories', async () => {
    for (const dir of ['keep/node_modules/pkg', 'keep/cache', 'var/cache', 'var/log']) await mkdir(join(base, dir), { recursive: true });
    await writeFile(join(base, 'keep/a.tmp'), '');
    await writeFile(join(base, 'keep/a.txt'), '');
    await writeFile(join(base, 'keep/cachefile'), '');
    await writeFile(join(base, 'var/cache/x'), '');
    const listings = await collect(new TreeWalker({ fs: walkFs, paths: [base], excludes: ['*.tmp', 'node_modules', `${base}/var/cache`, 'cache/'] }));
    expect(names(find(listings, join(base, 'keep')))).toEqual(['a.txt', 'cachefile']);
    expect(names(find(listings, join(base, 'var')))).toEqual(['log']);
    expect(paths(listings).some((path) => path.includes('node_modules') || path.endsWith('/cache'))).toBe(false);
  });

  it('keeps names as raw bytes: not UTF-8, newlines, tabs, 255 bytes, leading dashes', async () => {
    const weird = [Buffer.from([0x6e, 0xff, 0xfe, 0x80]), B('line\nbreak'), B('tab\there'), Buffer.alloc(255, 0x61), B('-rf'), B('--help'), B('é')];
    const dir = cat(base, '/d');
    await mkdir(dir);
    for (const name of weird) await writeFile(cat(dir, '/', name), name);
    await mkdir(cat(dir, '/', Buffer.from([0xc3, 0x28])));
    const listings = await collect(new TreeWalker({ fs: walkFs, paths: [base] }));
    const listing = listings.find((item) => item.path.equals(dir))!;
    const expected = [...weird, Buffer.from([0xc3, 0x28])].sort((a, b) => Buffer.compare(a, b));
    expect(listing.list.entries().map((entry) => entry.name)).toEqual(expected);
    expect(listings.some((item) => item.path.equals(cat(dir, '/', Buffer.from([0xc3, 0x28]))))).toBe(true);
    const long = listing.list.entries().find((entry) => entry.name.length === 255)!;
    expect(long.size).toBe(255n);
  });

  it('walks a tree 100 levels deep, deepest first', async () => {
    let deepest = base;
    for (let level = 0; level < 100; level++) deepest = join(deepest, `d${level}`);
    await mkdir(deepest, { recursive: true });
    await writeFile(join(deepest, 'leaf'), 'leaf');
    const listings = await collect(new TreeWalker({ fs: walkFs, paths: [base] }));
    const below = listings.filter((listing) => listing.path.toString().startsWith(`${base}/`));
    expect(below).toHaveLength(100);
    expect(below[0]!.path.toString()).toBe(deepest);
    expect(names(below[0])).toEqual(['leaf']);
    expect(below[99]!.path.toString()).toBe(join(base, 'd0'));
  });

  it('records symlinks with their target and never follows them', async () => {
    await mkdir(join(base, 'real/inside'), { recursive: true });
    await symlink(join(base, 'real'), join(base, 'link-to-dir'));
    await symlink('/etc', join(base, 'link-out'));
    await symlink(Buffer.from([0x2e, 0x2e, 0x2f, 0xff]), cat(base, '/link-raw'));
    const listings = await collect(new TreeWalker({ fs: walkFs, paths: [base] }));
    const top = find(listings, base)!;
    const link = top.list.entries().find((entry) => entry.name.toString() === 'link-to-dir')!;
    expect(link.type).toBe(EntryType.Symlink);
    expect(link.linkTarget?.toString()).toBe(join(base, 'real'));
    expect(top.list.entries().find((entry) => entry.name.toString() === 'link-raw')!.linkTarget).toEqual(Buffer.from([0x2e, 0x2e, 0x2f, 0xff]));
    expect(paths(listings).filter((path) => path.startsWith(base))).toEqual([join(base, 'real/inside'), join(base, 'real'), base]);
  });

  it('reads every kind of metadata with lstat', async () => {
    await writeFile(join(base, 'suid'), 'x');
    await chmod(join(base, 'suid'), 0o4755);
    await mkdir(join(base, 'sticky'));
    await chmod(join(base, 'sticky'), 0o1777);
    await writeFile(join(base, 'h1'), 'linked');
    await link(join(base, 'h1'), join(base, 'h2'));
    await writeFile(join(base, 'empty'), '');
    await utimes(join(base, 'empty'), 1_000_000, 1_600_000_000.5);
    execFileSync('mkfifo', [join(base, 'fifo')]);
    execFileSync('mknod', [join(base, 'null-dev'), 'c', '1', '3']);
    const listings = await collect(new TreeWalker({ fs: walkFs, paths: [base] }));
    const byName = new Map(find(listings, base)!.list.entries().map((entry) => [entry.name.toString(), entry]));
    expect(byName.get('suid')).toMatchObject({ type: EntryType.File, mode: 0o4755, size: 1n });
    expect(byName.get('sticky')).toMatchObject({ type: EntryType.Dir, mode: 0o1777, size: 0n });
    expect(byName.get('h1')?.nlink).toBe(2);
    expect(byName.get('h1')?.ino).toBe(byName.get('h2')?.ino);
    expect(byName.get('empty')?.mtimeNs).toBe(1_600_000_000_500_000_000n);
    expect(byName.get('fifo')?.type).toBe(EntryType.Fifo);
    expect(byName.get('null-dev')).toMatchObject({ type: EntryType.CharDevice, rdev: BigInt((1 << 8) | 3) });
    expect(byName.get('suid')?.uid).toBe(process.getuid!());
  });

  it('skips sockets with a note', async () => {
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(join(base, 'sock'), resolve));
    try {
      const problems: WalkProblem[] = [];
      const listings = await collect(new TreeWalker({ fs: walkFs, paths: [base], onProblem: (problem) => problems.push(problem) }));
      expect(names(find(listings, base))).toEqual([]);
      expect(problems).toEqual([{ path: B(join(base, 'sock')), message: 'socket skipped', skipped: true }]);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('records an unreadable directory, leaves its subtree out, and goes on', async () => {
    await mkdir(join(base, 'locked/inner'), { recursive: true });
    await mkdir(join(base, 'open'));
    await writeFile(join(base, 'open/f'), 'f');
    await chmod(join(base, 'locked'), 0o000);
    // Running as root, mode 000 does not stop readdir; the kernel's answer to anyone else is injected.
    const denied = B(join(base, 'locked'));
    const eacces = (): Error => Object.assign(new Error(`EACCES: permission denied, scandir '${join(base, 'locked')}'`), { code: 'EACCES' });
    const scan = walkFs.scan;
    const fs: WalkFs = {
      ...walkFs,
      readdir: (path) => (path.equals(denied) ? Promise.reject(eacces()) : walkFs.readdir(path)),
      ...(scan === undefined
        ? {}
        : {
            scan: (path: Buffer): Promise<Buffer> => (path.equals(denied) ? Promise.reject(eacces()) : scan(path)),
          }),
    };
    const listings = await collect(new TreeWalker({ paths: [base], fs }));
    expect(names(find(listings, base))).toEqual(['open']);
    expect(names(find(listings, join(base, 'open')))).toEqual(['f']);
    const walker = new TreeWalker({ paths: [base], fs });
    await collect(walker);
    expect(walker.problems).toHaveLength(1);
    expect(walker.problems[0]).toMatchObject({ path: denied, skipped: false });
    expect(walker.problems[0]?.message).toMatch(/^cannot read directory: EACCES/);
  });

  it('records a directory that vanishes between its listing and its own scan, and goes on', async () => {
    for (const dir of ['a', 'b/inner', 'c']) await mkdir(join(base, dir), { recursive: true });
    // "b" is removed right after base is listed, before the walk (or a scan ahead of it) opens "b".
    const removeB = (): void => rmSync(join(base, 'b'), { recursive: true });
    const scan = walkFs.scan;
    const fs: WalkFs = {
      ...walkFs,
      readdir: async (path) => {
        const names = await walkFs.readdir(path);
        if (path.equals(B(base))) removeB();
        return names;
      },
      ...(scan === undefined
        ? {}
        : {
            scan: async (path: Buffer): Promise<Buffer> => {
              const listed = await scan(path);
              if (path.equals(B(base))) removeB();
              return listed;
            },
          }),
    };
    const walker = new TreeWalker({ fs, paths: [base] });
    const listings = await collect(walker);
    expect(names(find(listings, base))).toEqual(['a', 'c']);
    expect(paths(listings).filter((path) => path.startsWith(`${base}/`))).toEqual([join(base, 'a'), join(base, 'c')]);
    expect(walker.problems).toHaveLength(1);
    expect(walker.problems[0]).toMatchObject({ path: B(join(base, 'b')), skipped: false });
    expect(walker.problems[0]!.message).toMatch(/ENOENT/);
  });

  it('reports missing configured paths and intermediate symlinks, and backs up the rest', async () => {
    await mkdir(join(base, 'real/sub'), { recursive: true });
    await symlink(join(base, 'real'), join(base, 'alias'));
    const walker = new TreeWalker({ fs: walkFs, paths: [join(base, 'missing'), join(base, 'alias/sub'), join(base, 'real')] });
    const listings = await collect(walker);
    expect(names(find(listings, base))).toEqual(['real']);
    const reported = walker.problems.map((problem) => [problem.path.toString(), problem.message]).sort((a, b) => a[0]!.localeCompare(b[0]!));
    expect(reported).toEqual([
      [join(base, 'alias'), expect.stringMatching(/not a directory/)],
      [join(base, 'missing'), 'configured path does not exist'],
    ]);
  });

  it('backs up a configured file or symlink as an entry of its parent, never following the symlink', async () => {
    await mkdir(join(base, 'etc/sub'), { recursive: true });
    await writeFile(join(base, 'etc/hosts'), 'hosts');
    await writeFile(join(base, 'etc/other'), 'other');
    await symlink(join(base, 'etc/sub'), join(base, 'etc/alias'));
    const listings = await collect(new TreeWalker({ fs: walkFs, paths: [join(base, 'etc/hosts'), join(base, 'etc/alias')] }));
    expect(names(find(listings, join(base, 'etc')))).toEqual(['alias', 'hosts']);
    expect(find(listings, join(base, 'etc'))!.list.entries().map((entry) => entry.type)).toEqual([EntryType.Symlink, EntryType.File]);
    expect(find(listings, join(base, 'etc/sub'))).toBeUndefined();
  });

  it('does not descend into directories committed by an earlier attempt but keeps their entry', async () => {
    for (const dir of ['done/x', 'todo']) await mkdir(join(base, dir), { recursive: true });
    const listings = await collect(new TreeWalker({ fs: walkFs, paths: [base], skipDirs: [B(join(base, 'done'))] }));
    expect(names(find(listings, base))).toEqual(['done', 'todo']);
    expect(paths(listings).filter((path) => path.startsWith(`${base}/`))).toEqual([join(base, 'todo')]);
    expect(await collect(new TreeWalker({ fs: walkFs, paths: [base], skipDirs: [B('/')] }))).toEqual([]);
  });
});

describe('TreeWalker: the one-call scan and the readdir/lstat/readlink walk', () => {
  let base: string;
  beforeEach(() => {
    base = mkdtempSync(join(tmpdir(), 'berth-walk-'));
  });
  afterEach(async () => {
    await rm(base, { recursive: true, force: true });
  });

  it('is built with the native scan in this workspace', () => {
    expect(scanDirectory).not.toBeNull();
    expect(nodeWalkFs.scan).toBeDefined();
  });

  it('yield the same entries and the same digests for every kind of entry and time', async () => {
    await mkdir(join(base, 'd/e'), { recursive: true });
    await mkdir(join(base, 'empty-dir'));
    for (let i = 0; i < 40; i++) await writeFile(join(base, `d/f${i}`), 'x'.repeat(i * 97));
    await writeFile(join(base, 'd/e/deep'), 'deep');
    await writeFile(join(base, 'old'), 'old');
    await setTimesNs(join(base, 'old'), 1n, -86_400_250_000_000n, { followSymlinks: false });
    await writeFile(join(base, 'future'), 'future');
    await setTimesNs(join(base, 'future'), 1n, 8_000_000_000_750_000_000n, { followSymlinks: false });
    await writeFile(join(base, 'h1'), 'linked');
    await link(join(base, 'h1'), join(base, 'h2'));
    await chmod(join(base, 'h1'), 0o6711);
    await symlink(Buffer.from([0x2e, 0x2e, 0x2f, 0xff]), cat(base, '/link-raw'));
    await symlink('d', join(base, 'link-dir'));
    await lutimes(join(base, 'link-dir'), 1, 1_234_567_890.123);
    await writeFile(cat(base, '/', Buffer.from([0xc3, 0x28, 0x0a, 0x2d])), 'raw name');
    execFileSync('mkfifo', [join(base, 'fifo')]);
    execFileSync('mknod', [join(base, 'null-dev'), 'c', '1', '3']);
    // A socket first in name order: left out, so every entry after it has another index in the list than in the scan.
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(join(base, 'a-socket'), resolve));
    let scanned: DirectoryListing[];
    let called: DirectoryListing[];
    try {
      scanned = await collect(new TreeWalker({ paths: [base], fs: nodeWalkFs }));
      called = await collect(new TreeWalker({ paths: [base], fs: callsOnly }));
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect(names(find(scanned, base))[0]).toBe('d');
    expect(paths(scanned)).toEqual(paths(called));
    scanned.forEach((listing, index) => {
      expect(listing.digest).not.toBeNull();
      // "/" and the temporary directory hold the entries of other tests' temporary directories, which come and go
      // between the two walks (tests run in parallel): only the tree made here is compared.
      if (!listing.path.toString('latin1').startsWith(base)) return;
      expect(listing.digest).toEqual(called[index]!.digest);
      expect(listing.regularFiles()).toEqual(called[index]!.regularFiles());
      expect(listing.lastName()).toEqual(called[index]!.lastName());
      expect(listing.list.entries()).toEqual(called[index]!.list.entries());
      // Chunks are packed from the scan's columns: the same bytes as the decoded entries packed, in any range.
      const { list } = listing;
      expect(list.pack(0, list.length)).toEqual(packEntries(called[index]!.list.entries()));
      if (list.length > 2) expect(list.pack(1, list.length - 2)).toEqual(packEntries(called[index]!.list.entries().slice(1, -1)));
      for (let i = 0; i < list.length; i++) {
        expect([list.name(i), list.type(i), list.size(i), list.fileBytes(i)]).toEqual([listing.list.entries()[i]!.name, listing.list.entries()[i]!.type, listing.list.entries()[i]!.size, list.type(i) === EntryType.File ? Number(listing.list.entries()[i]!.size) : 0]);
      }
    });
    const top = find(scanned, base)!;
    expect(top.list.entries().find((entry) => entry.name.toString() === 'old')?.mtimeNs).toBe(-86_400_250_000_000n);
    expect(top.list.entries().find((entry) => entry.name.toString() === 'future')?.mtimeNs).toBe(8_000_000_000_750_000_000n);
  });

  it('scan each directory once, a few at a time ahead of the walk, none of an excluded or skipped one', async () => {
    for (let p = 0; p < 6; p++) for (let m = 0; m < 5; m++) await mkdir(join(base, `p${p}/m${m}`), { recursive: true });
    await mkdir(join(base, 'p0/m0/node_modules/x'), { recursive: true });
    await mkdir(join(base, 'skipped/inner'), { recursive: true });
    const scanned: string[] = [];
    let running = 0;
    let most = 0;
    const scan = nodeWalkFs.scan!;
    const fs: WalkFs = {
      ...nodeWalkFs,
      scan: async (path) => {
        scanned.push(path.toString());
        most = Math.max(most, ++running);
        try {
          return await scan(path);
        } finally {
          running -= 1;
        }
      },
    };
    const listings = await collect(new TreeWalker({ paths: [base], fs, excludes: ['node_modules'], skipDirs: [B(join(base, 'skipped'))] }));
    const walked = paths(listings).filter((path) => path.startsWith(base));
    expect(walked).toHaveLength(1 + 6 + 30);
    expect([...scanned].sort()).toEqual([...walked].sort());
    // Four ahead of the walk, plus the one the walk makes itself when it gets to a directory not started yet.
    expect(most).toBeLessThanOrEqual(5);
  });

  it('change the digest of a directory and of its ancestors when an entry\'s mtime, size, mode, owner or link target changes', async () => {
    await mkdir(join(base, 'a/b'), { recursive: true });
    await writeFile(join(base, 'a/b/f'), 'content');
    await symlink('target-1', join(base, 'a/b/l'));
    const digests = async (): Promise<Map<string, string>> =>
      new Map((await collect(new TreeWalker({ paths: [base], fs: nodeWalkFs }))).map((listing) => [listing.path.toString(), listing.digest!.toString('hex')]));
    const changes: Array<() => Promise<void>> = [
      () => setTimesNs(join(base, 'a/b/f'), 1n, 1_700_000_000_000_000_001n, { followSymlinks: false }),
      () => writeFile(join(base, 'a/b/f'), 'content!'),
      () => chmod(join(base, 'a/b/f'), 0o600),
      () => import('node:fs/promises').then(({ lchown }) => lchown(join(base, 'a/b/f'), 12345, 54321)),
      async () => {
        await rm(join(base, 'a/b/l'));
        await symlink('target-2', join(base, 'a/b/l'));
      },
    ];
    let before = await digests();
    for (const change of changes) {
      await change();
      const after = await digests();
      for (const dir of ['a/b', 'a', '']) expect(after.get(join(base, dir))).not.toBe(before.get(join(base, dir)));
      before = after;
    }
  });
});
