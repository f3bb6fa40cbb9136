import { mkdtempSync } from 'node:fs';
import { lstat, mkdir, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EntryType, type EntryMeta } from '@berth/wire';
import { AgentError, AgentErrorCode } from '../src/errors/agent-error';
import { RestoreWriter, type RestoreProblem } from '../src/restore/restore-writer';
import { markerName, prepareTarget } from '../src/restore/restore-target';
import { MTIME, dataMessages, endMessage, entryMessage, meta } from './restore-fixtures';

// Real files and sockets; generous under load (the default is 5 s).
jest.setTimeout(30_000);

const B = (text: string): Buffer => Buffer.from(text);

/** Writes one regular file entry with its content. */
async function writeFileEntry(writer: RestoreWriter, ordinal: number, path: string | Buffer, content: Buffer, overrides: Partial<EntryMeta> = {}): Promise<void> {
  const name = typeof path === 'string' ? B(path.split('/').pop()!) : path.subarray(path.lastIndexOf(0x2f) + 1);
  await writer.entry(entryMessage(ordinal, path, meta(name, EntryType.File, { size: BigInt(content.length), ...overrides })));
  for (const data of dataMessages(ordinal, content, 256 * 1024)) await writer.data(data);
  await writer.end(endMessage(ordinal, content));
}

describe('RestoreWriter', () => {
  let base: string;
  let target: string;
  let problems: RestoreProblem[];
  let writer: RestoreWriter;

  beforeEach(async () => {
    base = mkdtempSync(join(tmpdir(), 'berth-restore-'));
    target = join(base, 'target');
    await mkdir(target);
    problems = [];
    writer = new RestoreWriter({ target, onProblem: (problem) => problems.push(problem) });
  });
  afterEach(async () => {
    await writer.abort();
    await rm(base, { recursive: true, force: true });
  });

  it('restores every kind of entry with its metadata, read back with lstat', async () => {
    const sparse = Buffer.alloc(4 * 1024 * 1024);
    sparse.write('head', 0);
    sparse.write('tail', sparse.length - 4);
    const rawName = Buffer.from([0x72, 0xff, 0x0a, 0x2d]);
    let n = 0;
    await writer.entry(entryMessage(n++, 'etc', meta('etc', EntryType.Dir, { mode: 0o2750, uid: 1234, gid: 5678, mtimeNs: MTIME + 1n })));
    await writeFileEntry(writer, n++, 'etc/suid', B('#!/bin/sh\n'), { mode: 0o4755, uid: 1234, gid: 5678, mtimeNs: MTIME + 2n });
    await writeFileEntry(writer, n++, 'etc/empty', Buffer.alloc(0), { mode: 0o600 });
    await writer.entry(entryMessage(n++, 'etc/empty-dir', meta('empty-dir', EntryType.Dir, { mode: 0o700, mtimeNs: MTIME + 3n })));
    await writer.entry(entryMessage(n++, 'etc/link', meta('link', EntryType.Symlink, { linkTarget: Buffer.from([0x2e, 0x2e, 0x2f, 0xfe]), uid: 42, gid: 43, mtimeNs: MTIME + 4n })));
    await writeFileEntry(writer, n++, 'etc/hard-a', B('shared content'), { nlink: 2, ino: 77n });
    await writer.entry(entryMessage(n++, 'etc/hard-b', meta('hard-b', EntryType.File, { nlink: 2, ino: 77n, size: 14n }), n - 2));
    await writeFileEntry(writer, n++, 'etc/sparse', sparse);
    await writer.entry(entryMessage(n++, 'etc/fifo', meta('fifo', EntryType.Fifo, { mode: 0o640, mtimeNs: MTIME + 5n })));
    await writer.entry(entryMessage(n++, 'etc/null', meta('null', EntryType.CharDevice, { mode: 0o666, rdev: BigInt((1 << 8) | 3) })));
    await writer.entry(entryMessage(n++, 'etc/loop', meta('loop', EntryType.BlockDevice, { mode: 0o660, rdev: BigInt((7 << 8) | 200) })));
    await writer.entry(entryMessage(n++, 'tmp', meta('tmp', EntryType.Dir, { mode: 0o1777 })));
    await writer.entry(entryMessage(n++, 'ro', meta('ro', EntryType.Dir, { mode: 0o555 })));
    await writeFileEntry(writer, n++, Buffer.concat([B('ro/'), rawName]), B('raw'));
    await writer.finish();
    expect(problems).toEqual([]);

    const at = (path: string | Buffer) => lstat(typeof path === 'string' ? join(target, path) : Buffer.concat([B(`${target}/`), path]), { bigint: true });
    const etc = await at('etc');
    expect(etc.isDirectory()).toBe(true);
    expect(Number(etc.mode & 0o7777n)).toBe(0o2750);
    expect([etc.uid, etc.gid]).toEqual([1234n, 5678n]);
    expect(etc.mtimeNs).toBe(MTIME + 1n);

    const suid = await at('etc/suid');
    expect(Number(suid.mode & 0o7777n)).toBe(0o4755);
    expect([suid.uid, suid.gid]).toEqual([1234n, 5678n]);
    expect(suid.mtimeNs).toBe(MTIME + 2n);
    expect(await readFile(join(target, 'etc/suid'), 'utf8')).toBe('#!/bin/sh\n');

    expect((await at('etc/empty')).size).toBe(0n);
    expect(Number((await at('etc/empty')).mode & 0o7777n)).toBe(0o600);
    expect(await readdir(join(target, 'etc/empty-dir'))).toEqual([]);
    expect((await at('etc/empty-dir')).mtimeNs).toBe(MTIME + 3n);

    const link = await at('etc/link');
    expect(link.isSymbolicLink()).toBe(true);
    expect(await readlink(B(join(target, 'etc/link')), { encoding: 'buffer' })).toEqual(Buffer.from([0x2e, 0x2e, 0x2f, 0xfe]));
    expect([link.uid, link.gid]).toEqual([42n, 43n]);
    expect(link.mtimeNs).toBe(MTIME + 4n);

    const [hardA, hardB] = [await at('etc/hard-a'), await at('etc/hard-b')];
    expect(hardA.ino).toBe(hardB.ino);
    expect(hardA.nlink).toBe(2n);

    const sparseStats = await at('etc/sparse');
    expect(sparseStats.size).toBe(BigInt(sparse.length));
    expect(Number(sparseStats.blocks) * 512).toBeLessThanOrEqual(64 * 1024);
    expect((await readFile(join(target, 'etc/sparse'))).equals(sparse)).toBe(true);

    const fifo = await at('etc/fifo');
    expect(fifo.isFIFO()).toBe(true);
    expect(Number(fifo.mode & 0o7777n)).toBe(0o640);
    expect(fifo.mtimeNs).toBe(MTIME + 5n);
    const nullDev = await at('etc/null');
    expect(nullDev.isCharacterDevice()).toBe(true);
    expect(nullDev.rdev).toBe(BigInt((1 << 8) | 3));
    expect((await at('etc/loop')).isBlockDevice()).toBe(true);
    expect((await at('etc/loop')).rdev).toBe(BigInt((7 << 8) | 200));

    expect(Number((await at('tmp')).mode & 0o7777n)).toBe(0o1777);
    expect(Number((await at('ro')).mode & 0o7777n)).toBe(0o555);
    expect((await at(Buffer.concat([B('ro/'), rawName]))).size).toBe(3n);
    expect(writer.entries).toBe(n);
    expect(writer.bytes).toBe(10 + 14 + sparse.length + 3);
  });

  it('sets owners explicitly in a setgid target, where new entries would take its group', async () => {
    await (await import('node:fs/promises')).chown(target, 0, 5678);
    await (await import('node:fs/promises')).chmod(target, 0o2775);
    await writeFileEntry(writer, 0, 'mine', B('x'), { uid: 0, gid: 0 });
    await writer.entry(entryMessage(1, 'dir', meta('dir', EntryType.Dir, { uid: 0, gid: 0 })));
    await writer.finish();
    expect((await lstat(join(target, 'mine'))).gid).toBe(0);
    expect((await lstat(join(target, 'dir'))).gid).toBe(0);
  });

  it('creates directories the stream implies but does not describe', async () => {
    await writeFileEntry(writer, 0, 'home/ann/notes.txt', B('hi'));
    await writer.finish();
    expect(await readFile(join(target, 'home/ann/notes.txt'), 'utf8')).toBe('hi');
    expect(Number((await lstat(join(target, 'home'))).mode & 0o7777)).toBe(0o755);
  });

  it('drops a file whose content does not match its content hash or that the receiver could not read', async () => {
    await writer.entry(entryMessage(0, 'bad', meta('bad', EntryType.File, { size: 4n })));
    await writer.data(dataMessages(0, B('evil'))[0]!);
    await writer.end(endMessage(0, B('good')));
    await writer.entry(entryMessage(1, 'gone', meta('gone', EntryType.File, { size: 4n })));
    await writer.end(endMessage(1, Buffer.alloc(0), 'blob missing'));
    await writer.finish();
    expect(problems.map((problem) => [problem.path.toString(), problem.message])).toEqual([
      ['bad', 'not restored: content does not match its content hash'],
      ['gone', 'not restored: blob missing'],
    ]);
    expect(await readdir(target)).toEqual([]);
  });

  it.each([
    ['a parent reference', '../escape'],
    ['a nested parent reference', 'a/../../escape'],
    ['an absolute path', '/etc/passwd'],
    ['an empty component', 'a//b'],
    ['a NUL byte', 'a\0b'],
    ['a 256-byte name', 'x'.repeat(256)],
    ['a dot component', './a'],
    ['an empty path', ''],
  ])('refuses %s without creating anything', async (_what, path) => {
    const attempt = writer.entry(entryMessage(0, path, meta('x', EntryType.File)));
    await expect(attempt).rejects.toMatchObject({ code: AgentErrorCode.RestorePath });
    expect(await readdir(base)).toEqual(['target']);
    expect(await readdir(target)).toEqual([]);
  });

  it('never writes through a symlink it restored', async () => {
    const outside = join(base, 'outside');
    await mkdir(outside);
    await writer.entry(entryMessage(0, 'link', meta('link', EntryType.Symlink, { linkTarget: B(outside) })));
    await expect(writer.entry(entryMessage(1, 'link/evil', meta('evil', EntryType.File)))).rejects.toBeInstanceOf(AgentError);
    // A file of the same name: O_CREAT|O_EXCL|O_NOFOLLOW refuses it (small files are written in the background).
    await writer.entry(entryMessage(2, 'link', meta('link', EntryType.File, { size: 4n })));
    await writer.data(dataMessages(2, B('evil'))[0]!);
    await writer.end(endMessage(2, B('evil')));
    await expect(writer.finish()).rejects.toMatchObject({ code: 'EEXIST' });
    expect(await readdir(outside)).toEqual([]);
    expect((await lstat(join(target, 'link'))).isSymbolicLink()).toBe(true);
  });

  it('refuses entries that come back into a directory already completed', async () => {
    await writer.entry(entryMessage(0, 'a', meta('a', EntryType.Dir)));
    await writer.entry(entryMessage(1, 'b', meta('b', EntryType.Dir)));
    await expect(writer.entry(entryMessage(2, 'a/late', meta('late', EntryType.File)))).rejects.toMatchObject({ code: AgentErrorCode.RestorePath });
  });

  it('refuses content for an entry that is not the open file, and a stream that ends mid-file', async () => {
    await writer.entry(entryMessage(0, 'f', meta('f', EntryType.File, { size: 1n })));
    await expect(writer.data(dataMessages(5, B('x'))[0]!)).rejects.toMatchObject({ code: AgentErrorCode.Protocol });
    await expect(writer.finish()).rejects.toMatchObject({ code: AgentErrorCode.Protocol });
  });

  it('without root: skips device nodes with a note and leaves owners alone', async () => {
    writer = new RestoreWriter({ target, asRoot: false, onProblem: (problem) => problems.push(problem) });
    await writer.entry(entryMessage(0, 'null', meta('null', EntryType.CharDevice, { rdev: 259n })));
    await writeFileEntry(writer, 1, 'owned', B('x'), { uid: 4321, gid: 4321 });
    await writer.entry(entryMessage(2, 'fifo', meta('fifo', EntryType.Fifo)));
    await writer.finish();
    expect(problems).toEqual([{ path: B('null'), message: 'device node skipped: restoring device nodes needs root', skipped: true }]);
    expect((await lstat(join(target, 'owned'))).uid).toBe(process.getuid!());
    expect((await lstat(join(target, 'fifo'))).isFIFO()).toBe(true);
  });
});

describe('prepareTarget', () => {
  let base: string;
  beforeEach(() => {
    base = mkdtempSync(join(tmpdir(), 'berth-target-'));
  });
  afterEach(async () => {
    await rm(base, { recursive: true, force: true });
  });

  it('creates a missing target with a marker naming the run', async () => {
    const target = await prepareTarget(join(base, 'new/dir/'), 'run-1');
    expect(target).toBe(join(base, 'new/dir'));
    expect(await readdir(target)).toEqual([markerName('run-1')]);
  });

  it('accepts an empty directory and refuses a non-empty one, a file, or a relative path', async () => {
    await mkdir(join(base, 'empty'));
    await expect(prepareTarget(join(base, 'empty'), 'run-1')).resolves.toBe(join(base, 'empty'));
    await mkdir(join(base, 'full'));
    await writeFile(join(base, 'full/precious'), 'keep me');
    const refusal = await prepareTarget(join(base, 'full'), 'run-1').catch((error: unknown) => error);
    expect(refusal).toMatchObject({ code: AgentErrorCode.RestoreTarget });
    expect((refusal as Error).message).toMatch(/exists and is not empty; choose a new or empty directory/);
    expect(await readFile(join(base, 'full/precious'), 'utf8')).toBe('keep me');
    await expect(prepareTarget(join(base, 'full/precious'), 'run-1')).rejects.toMatchObject({ code: AgentErrorCode.RestoreTarget });
    await expect(prepareTarget('relative/dir', 'run-1')).rejects.toMatchObject({ code: AgentErrorCode.RestoreTarget });
  });

  it('lets a retry of the same run clear what the failed attempt left, and nobody else', async () => {
    const target = await prepareTarget(join(base, 't'), 'run-1');
    await mkdir(join(target, 'half/done'), { recursive: true });
    await writeFile(Buffer.from(`${target}/\xff`, 'latin1'), 'partial');
    await expect(prepareTarget(target, 'run-2')).rejects.toMatchObject({ code: AgentErrorCode.RestoreTarget });
    await prepareTarget(target, 'run-1');
    expect(await readdir(target)).toEqual([markerName('run-1')]);
  });
});
