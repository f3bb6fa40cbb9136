/**
 * Writes a restore stream into the target directory with all metadata.
 *
 * Safety: every entry path is validated component by component (no "..", "/", NUL, empty or >255-byte
 * names), and an entry is only ever created inside a directory this writer created itself in this
 * restore: entries arrive pre-order, so the directories being filled form a stack, and a parent that
 * is not on it is either created here (missing intermediate directories) or refused (mkdir fails on
 * anything else already there, a symlink included). Files are created with O_CREAT|O_EXCL|O_NOFOLLOW,
 * symlinks with symlink(2), so nothing is ever written through a symlink.
 *
 * Fidelity: regular files keep their holes (all-zero 4 KiB blocks are not written, the size is set
 * with ftruncate), hard links become links, permission bits include setuid/setgid/sticky (chown first,
 * since chown clears setuid), owners are restored when running as root, times to the nanosecond, and a
 * directory gets its mode and times after its content is written.
 */
import { ContentHasher } from '@berth/delta';
import { constants } from 'node:fs';
import { chmod, lchown, link, lstat, mkdir, open, rename, rm, symlink, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { NodeKind, makeNode, nativeSupport, setTimesNs } from '@berth/posix';
import { EntryType, isWireError, validateRelativePath, type EntryMeta, type FileDataMessage, type FileEndMessage, type RestoreEntryMessage } from '@berth/wire';
import { AgentError, AgentErrorCode } from '../errors/agent-error';
import { displayPath } from '../util/display-path';

const BLOCK = 4096;
const IMPLIED_DIR_MODE = 0o755;
const SETGID_BIT = 0o2000;
const ZERO_BLOCK = Buffer.alloc(BLOCK);
const SLASH = 0x2f;
const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

export interface RestoreProblem {
  /** Path relative to the snapshot root. */
  readonly path: Buffer;
  readonly message: string;
  /** True for entries left out on purpose (device nodes without root, sockets). */
  readonly skipped: boolean;
}

export interface RestoreWriterOptions {
  /** Absolute, existing, empty target directory (see prepareTarget). */
  readonly target: string;
  /** Owners are restored only as root; default: whether this process is root. */
  readonly asRoot?: boolean;
  readonly onProblem?: (problem: RestoreProblem) => void;
  /** Called after each entry is complete (file content verified and metadata applied). */
  readonly onEntryDone?: (entry: EntryMeta, bytes: number) => void;
}

interface OpenDir {
  /** Relative path bytes; empty for the target itself. */
  readonly rel: Buffer;
  readonly abs: Buffer;
  /** Metadata to apply when the directory is complete; null for the target and implied directories. */
  meta: EntryMeta | null;
}

interface OpenFile {
  readonly ordinal: number;
  readonly rel: Buffer;
  readonly abs: Buffer;
  readonly meta: EntryMeta;
  /** Large files are written as their data arrives; small ones are buffered (handle null, see end()). */
  readonly handle: FileHandle | null;
  readonly pieces: Buffer[];
  /** Content hash of what arrived (protocol 7: the chunk-list hash for more than one chunk). */
  readonly hash: ContentHasher;
  offset: number;
  /** End of the last byte actually written (below `offset` when the file ends in a hole). */
  writtenEnd: number;
}

/** Files up to this size are buffered and written by background tasks, several at once. */
const BUFFERED_FILE_BYTES = 1024 * 1024;
/** Background file writes in flight at most (bounds memory to about this many small files). */
const MAX_WRITE_TASKS = 32;

export class RestoreWriter {
  private readonly stack: OpenDir[];
  private readonly asRoot: boolean;
  private readonly ownUid = process.getuid?.() ?? -1;
  private readonly ownGid = process.getgid?.() ?? -1;
  private targetSetgid: boolean | null = null;
  private file: OpenFile | null = null;
  /** Hard-link group leaders: ordinal -> absolute path and when it is written, for files with more than one link. */
  private readonly linkSources = new Map<number, { readonly abs: Buffer; readonly written: Promise<void> }>();
  /** Small files being written in the background; a directory is completed only once they are done. */
  private readonly tasks = new Set<Promise<void>>();
  private taskError: Error | null = null;
  /** Ordinals written as hard links: their optional empty FileEnd is accepted and ignored. */
  private readonly linked = new Set<number>();
  private nextOrdinal = 0;
  private entriesSeen = 0;
  private bytesSeen = 0;
  private stagingDir: string | null = null;

  constructor(private readonly options: RestoreWriterOptions) {
    this.asRoot = options.asRoot ?? this.ownUid === 0;
    this.stack = [{ rel: Buffer.alloc(0), abs: Buffer.from(options.target), meta: null }];
  }

  get entries(): number {
    return this.entriesSeen;
  }

  get bytes(): number {
    return this.bytesSeen;
  }

  async entry(message: RestoreEntryMessage): Promise<void> {
    this.rethrowTaskError();
    // Entries made in a setgid target take its group, not ours: then owners are always set explicitly.
    this.targetSetgid ??= ((await lstat(this.options.target)).mode & SETGID_BIT) !== 0;
    if (this.file !== null) throw this.protocol(`entry ${message.ordinal} arrived before file ${displayPath(this.file.rel)} was complete`);
    if (message.ordinal !== this.nextOrdinal) throw this.protocol(`entry ordinal ${message.ordinal}, expected ${this.nextOrdinal}`);
    this.nextOrdinal += 1;
    this.entriesSeen += 1;
    const rel = validatedPath(message.path);
    const parent = await this.enterParent(rel);
    const abs = Buffer.concat([parent.abs, Buffer.from('/'), lastComponent(rel)]);
    const { entry } = message;
    if (message.hardlinkOf !== null) {
      await this.writeHardLink(message, rel, abs);
      return;
    }
    switch (entry.type) {
      case EntryType.Dir:
        await mkdir(abs, { mode: 0o700 });
        this.stack.push({ rel, abs, meta: entry });
        return;
      case EntryType.File:
        await this.openFile(message.ordinal, rel, abs, entry);
        return;
      case EntryType.Symlink:
        await this.writeSymlink(abs, entry);
        this.options.onEntryDone?.(entry, 0);
        return;
      case EntryType.Fifo:
        await this.writeNode(abs, entry, NodeKind.Fifo);
        this.options.onEntryDone?.(entry, 0);
        return;
      case EntryType.CharDevice:
      case EntryType.BlockDevice:
        if (!this.asRoot) {
          this.problem(rel, 'device node skipped: restoring device nodes needs root', true);
          return;
        }
        await this.writeNode(abs, entry, entry.type === EntryType.CharDevice ? NodeKind.CharDevice : NodeKind.BlockDevice);
        this.options.onEntryDone?.(entry, 0);
        return;
      case EntryType.Socket:
        this.problem(rel, 'socket skipped', true);
        return;
    }
  }

  async data(message: FileDataMessage): Promise<void> {
    const file = this.file;
    if (file === null || message.index !== file.ordinal) throw this.protocol(`FileData for entry ${message.index}, which is not the file being written`);
    file.hash.update(message.data);
    if (file.handle === null) file.pieces.push(message.data);
    else file.writtenEnd = Math.max(file.writtenEnd, await writeSparse(file.handle, message.data, file.offset));
    file.offset += message.data.length;
    this.bytesSeen += message.data.length;
  }

  async end(message: FileEndMessage): Promise<void> {
    const file = this.file;
    if (file === null || message.index !== file.ordinal) {
      if (this.linked.has(message.index) && message.size === 0n && message.error === null) return;
      throw this.protocol(`FileEnd for entry ${message.index}, which is not the file being written`);
    }
    this.file = null;
    const problem = fileProblem(file, message);
    if (problem !== null) {
      if (file.handle !== null) {
        await file.handle.close().catch(() => undefined);
        await unlink(file.abs).catch(() => undefined);
      }
      this.problem(file.rel, problem, false);
      return;
    }
    if (file.handle === null) {
      const task = await this.inBackground(() => this.writeBuffered(file));
      if (file.meta.nlink > 1) this.linkSources.set(file.ordinal, { abs: file.abs, written: task.done });
      return;
    }
    await this.completeFile(file, file.handle);
    if (file.meta.nlink > 1) this.linkSources.set(file.ordinal, { abs: file.abs, written: Promise.resolve() });
  }

  /** Creates a buffered small file with its content and metadata in one go. */
  private async writeBuffered(file: OpenFile): Promise<void> {
    const handle = await open(file.abs, CREATE_FLAGS, 0o600);
    let offset = 0;
    try {
      for (const piece of file.pieces) {
        file.writtenEnd = Math.max(file.writtenEnd, await writeSparse(handle, piece, offset));
        offset += piece.length;
      }
    } catch (error) {
      await handle.close().catch(() => undefined);
      throw error;
    }
    await this.completeFile(file, handle);
  }

  /** Size (holes at the end), owner before mode (chown clears setuid), times once closed. */
  private async completeFile(file: OpenFile, handle: FileHandle): Promise<void> {
    try {
      if (file.writtenEnd < file.offset) await handle.truncate(file.offset);
      await this.applyOwner(file.abs, file.meta, handle);
      await handle.chmod(file.meta.mode);
    } finally {
      await handle.close();
    }
    await setTimesNs(file.abs, file.meta.mtimeNs, file.meta.mtimeNs, { followSymlinks: false });
    this.options.onEntryDone?.(file.meta, file.offset);
  }

  /** Runs `task` in the background (at most MAX_WRITE_TASKS at once); its failure fails the restore. */
  private async inBackground(task: () => Promise<void>): Promise<{ readonly done: Promise<void> }> {
    while (this.tasks.size >= MAX_WRITE_TASKS) await Promise.race(this.tasks);
    this.rethrowTaskError();
    const running: Promise<void> = task()
      .catch((error: unknown) => {
        // Kept as thrown (an fs error keeps its code); duck-typed, since errors from Node's internals may
        // come from another realm.
        this.taskError ??= typeof error === 'object' && error !== null && 'message' in error ? (error as Error) : new Error(String(error));
      })
      .finally(() => this.tasks.delete(running));
    this.tasks.add(running);
    return { done: running };
  }

  /** Waits for every background write; rethrows the first failure. */
  private async drainTasks(): Promise<void> {
    while (this.tasks.size > 0) await Promise.all(this.tasks);
    this.rethrowTaskError();
  }

  private rethrowTaskError(): void {
    if (this.taskError !== null) throw this.taskError;
  }

  /** Completes every open directory (mode, owner, times), deepest first. */
  async finish(): Promise<void> {
    if (this.file !== null) throw this.protocol(`the restore ended before file ${displayPath(this.file.rel)} was complete`);
    await this.drainTasks();
    while (this.stack.length > 1) await this.closeDir(this.stack.pop()!);
    if (this.stagingDir !== null) await rm(this.stagingDir, { recursive: true, force: true });
  }

  /** Releases what is open after a failure (the partial restore stays for inspection or a retry). */
  async abort(): Promise<void> {
    await this.file?.handle?.close().catch(() => undefined);
    this.file = null;
    await Promise.all(this.tasks);
    if (this.stagingDir !== null) await rm(this.stagingDir, { recursive: true, force: true }).catch(() => undefined);
  }

  /** Pops finished directories until the entry's parent is on top; creates implied parents. */
  private async enterParent(rel: Buffer): Promise<OpenDir> {
    const parentRel = parentOf(rel);
    while (this.stack.length > 1 && !isAncestorOrSelf(this.stack[this.stack.length - 1]!.rel, parentRel)) {
      await this.closeDir(this.stack.pop()!);
    }
    let top = this.stack[this.stack.length - 1]!;
    if (top.rel.equals(parentRel)) return top;
    // The stream skipped some directories above this entry (e.g. a sub-path restore): create them here.
    const missing = parentRel.subarray(top.rel.length === 0 ? 0 : top.rel.length + 1);
    for (const name of splitComponents(missing)) {
      const rel = top.rel.length === 0 ? name : Buffer.concat([top.rel, Buffer.from('/'), name]);
      const abs = Buffer.concat([top.abs, Buffer.from('/'), name]);
      try {
        await mkdir(abs, { mode: 0o700 });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
          throw this.pathError(`entry ${displayPath(rel)} is not a directory this restore created (entries out of order, or a path through a symlink or file)`);
        }
        throw error;
      }
      top = { rel, abs, meta: null };
      this.stack.push(top);
    }
    return top;
  }

  private async closeDir(dir: OpenDir): Promise<void> {
    // Background writes create entries, which would move the directory's mtime after it was set.
    await this.drainTasks();
    const handle = await open(dir.abs, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
    try {
      if (dir.meta === null) {
        // A directory the stream implied but did not describe: the usual mode, our owner, current time.
        await handle.chmod(IMPLIED_DIR_MODE);
        return;
      }
      await this.applyOwner(dir.abs, dir.meta, handle);
      await handle.chmod(dir.meta.mode);
    } finally {
      await handle.close();
    }
    await setTimesNs(dir.abs, dir.meta.mtimeNs, dir.meta.mtimeNs, { followSymlinks: false });
    this.options.onEntryDone?.(dir.meta, 0);
  }

  private async openFile(ordinal: number, rel: Buffer, abs: Buffer, meta: EntryMeta): Promise<void> {
    const handle = meta.size <= BigInt(BUFFERED_FILE_BYTES) ? null : await open(abs, CREATE_FLAGS, 0o600);
    this.file = { ordinal, rel, abs, meta, handle, pieces: [], hash: new ContentHasher(), offset: 0, writtenEnd: 0 };
  }

  private async writeHardLink(message: RestoreEntryMessage, rel: Buffer, abs: Buffer): Promise<void> {
    const source = message.hardlinkOf === null ? undefined : this.linkSources.get(message.hardlinkOf);
    if (source === undefined) {
      this.problem(rel, `hard link to entry ${message.hardlinkOf} which was not restored`, false);
      return;
    }
    await source.written;
    this.rethrowTaskError();
    // link(2) does not follow a symlink given as its source, and fails if the new name exists.
    await link(source.abs, abs);
    this.linked.add(message.ordinal);
    this.options.onEntryDone?.(message.entry, 0);
  }

  private async writeSymlink(abs: Buffer, entry: EntryMeta): Promise<void> {
    if (entry.linkTarget === null) throw this.protocol('a symlink entry without a target');
    await symlink(entry.linkTarget, abs);
    await this.applyOwner(abs, entry, null);
    await setTimesNs(abs, entry.mtimeNs, entry.mtimeNs, { followSymlinks: false });
  }

  private async writeNode(abs: Buffer, entry: EntryMeta, kind: NodeKind): Promise<void> {
    if (nativeSupport()) {
      await makeNode(abs, kind, 0o600, entry.rdev);
    } else {
      // The command-line fallback takes text paths: create under a plain name, then rename into place.
      const staged = join(await this.staging(), `node-${this.entriesSeen}`);
      await makeNode(staged, kind, 0o600, entry.rdev);
      if (await exists(abs)) throw this.pathError(`entry ${displayPath(abs)} already exists`);
      await rename(staged, abs);
    }
    // The node was just created by this writer at abs (not a symlink), so chown/chmod by path are safe;
    // opening a FIFO or device to use the handle forms could block or have side effects.
    await this.applyOwner(abs, entry, null);
    await chmod(abs, entry.mode);
    await setTimesNs(abs, entry.mtimeNs, entry.mtimeNs, { followSymlinks: false });
  }

  private async staging(): Promise<string> {
    if (this.stagingDir === null) {
      this.stagingDir = join(this.options.target, `.berth-restore-staging-${process.pid}`);
      await mkdir(this.stagingDir, { mode: 0o700 });
    }
    return this.stagingDir;
  }

  /** fchown, or lchown (never follows a symlink), as root; otherwise only to our own uid, errors ignored. */
  private async applyOwner(abs: Buffer, meta: EntryMeta, handle: FileHandle | null): Promise<void> {
    if (!this.asRoot && meta.uid !== this.ownUid) return;
    // New entries already belong to us (directories get no setgid bit before they are completed).
    if (meta.uid === this.ownUid && meta.gid === this.ownGid && this.targetSetgid === false) return;
    try {
      if (handle !== null) await handle.chown(meta.uid, meta.gid);
      else await lchown(abs, meta.uid, meta.gid);
    } catch (error) {
      if (this.asRoot) throw error;
    }
  }

  private problem(path: Buffer, message: string, skipped: boolean): void {
    this.options.onProblem?.({ path, message, skipped });
  }

  private protocol(message: string): AgentError {
    return new AgentError(AgentErrorCode.Protocol, `receiver broke the restore protocol: ${message}`);
  }

  private pathError(message: string): AgentError {
    return new AgentError(AgentErrorCode.RestorePath, message);
  }
}

async function exists(path: Buffer): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

function validatedPath(path: Buffer): Buffer {
  try {
    validateRelativePath(path);
  } catch (error) {
    if (isWireError(error)) throw new AgentError(AgentErrorCode.RestorePath, `restore entry refused: ${error.message}`);
    throw error;
  }
  return path;
}

function fileProblem(file: OpenFile, end: FileEndMessage): string | null {
  if (end.error !== null) return `not restored: ${end.error}`;
  if (BigInt(file.offset) !== end.size) return `not restored: received ${file.offset} bytes, the receiver announced ${end.size}`;
  const digest = file.hash.digest();
  if (!digest.equals(end.sha256)) return 'not restored: content does not match its content hash';
  return null;
}

/**
 * Writes `data` at `offset`, skipping every whole 4 KiB-aligned block of zeros so the file keeps its holes
 * (a trailing hole needs ftruncate). Runs of non-zero blocks go out in one write each. Returns the end of
 * the last byte written (`offset` when everything was a hole).
 */
export async function writeSparse(handle: FileHandle, data: Buffer, offset: number): Promise<number> {
  let writtenEnd = offset;
  let runStart = -1;
  let position = 0;
  while (position < data.length) {
    const fileOffset = offset + position;
    const blockEnd = Math.min(data.length, position + (BLOCK - (fileOffset % BLOCK)));
    const wholeBlock = blockEnd - position === BLOCK;
    const hole = wholeBlock && data.subarray(position, blockEnd).equals(ZERO_BLOCK);
    if (hole) {
      if (runStart >= 0) {
        await writeAll(handle, data.subarray(runStart, position), offset + runStart);
        writtenEnd = offset + position;
      }
      runStart = -1;
    } else if (runStart < 0) {
      runStart = position;
    }
    position = blockEnd;
  }
  if (runStart >= 0) {
    await writeAll(handle, data.subarray(runStart), offset + runStart);
    writtenEnd = offset + data.length;
  }
  return writtenEnd;
}

async function writeAll(handle: FileHandle, data: Buffer, position: number): Promise<void> {
  let written = 0;
  while (written < data.length) {
    const { bytesWritten } = await handle.write(data, written, data.length - written, position + written);
    written += bytesWritten;
  }
}

function parentOf(rel: Buffer): Buffer {
  const slash = rel.lastIndexOf(SLASH);
  return slash === -1 ? Buffer.alloc(0) : rel.subarray(0, slash);
}

function lastComponent(rel: Buffer): Buffer {
  return rel.subarray(rel.lastIndexOf(SLASH) + 1);
}

function isAncestorOrSelf(dir: Buffer, path: Buffer): boolean {
  if (dir.length === 0) return true;
  if (path.length < dir.length) return false;
  return path.subarray(0, dir.length).equals(dir) && (path.length === dir.length || path[dir.length] === SLASH);
}

function splitComponents(path: Buffer): Buffer[] {
  const parts: Buffer[] = [];
  let start = 0;
  while (start < path.length) {
    const slash = path.indexOf(SLASH, start);
    const end = slash === -1 ? path.length : slash;
    parts.push(path.subarray(start, end));
    start = end + 1;
  }
  return parts;
}
