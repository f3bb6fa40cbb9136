/**
 * Walks the selected trees in the one fixed order of Berth: names sorted by bytes (Buffer.compare),
 * post-order (a directory is yielded after all its subdirectories, "/" last). Every filesystem call is
 * on Buffer paths and none follows a symlink.
 *
 * Trouble with one entry never stops the walk: an entry that vanishes, or a directory that cannot be
 * listed, is reported as a problem and left out of its parent's listing (an unreadable directory is
 * omitted with its whole subtree rather than sent empty, so a restore never shows a misleading empty
 * directory). Sockets are left out with a "skipped" note.
 *
 * With the native scan of @berth/posix (WalkFs.scan) each directory is listed and lstat'ed in one call on a
 * worker thread, scans run ahead of the walk (ScanAhead), and entries stay in the scan's records until a
 * directory's entries are needed (entry-list.ts); without it, readdir, lstat and readlink as before. The
 * walker computes each directory's digest (protocol 4) as it yields it.
 */
import { type BigIntStats, constants as fsConstants } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { DirectoryScan, systemErrorMessage } from '@berth/posix';
import { EntryType, type EntryMeta } from '@berth/wire';
import { errorMessage } from '../errors/agent-error';
import { type EntryList, MetaEntryList, regularFiles, ScannedEntryList } from './entry-list';
import { DIR, SOCKET, toEntryMeta, entryTypeOf, entryTypeOfMode } from './entry-meta';
import { ExcludeMatcher } from './exclude-matcher';
import { buildSelection, joinPath, type SelectionNode } from './selection';
import { ScanAhead } from './scan-ahead';
import { nodeWalkFs, type WalkFs } from './walk-fs';

export interface DirectoryListing {
  /** Absolute path bytes ("/" for the snapshot root). */
  readonly path: Buffer;
  /** Entries sorted by name bytes, read in place (chunks are cut and packed from it; `entries()` decodes them). */
  readonly list: EntryList;
  /**
   * Protocol 4's digest of the directory (its entries and its subdirectories' digests), or null when a
   * subdirectory was not walked (skipped as committed by an earlier attempt).
   */
  readonly digest: Buffer | null;
  /** Non-directory entries, and the bytes of the regular files among them. */
  regularFiles(): { files: number; bytes: number };
  /** Name of the last entry, null when empty. */
  lastName(): Buffer | null;
  readonly entryCount: number;
}

export interface WalkProblem {
  readonly path: Buffer;
  readonly message: string;
  /** True for entries left out on purpose (sockets); false for errors (the run ends partial). */
  readonly skipped: boolean;
}

export interface WalkOptions {
  readonly paths: readonly string[];
  readonly excludes?: readonly string[];
  /** Directories already committed by an earlier attempt: kept in their parent, not descended. */
  readonly skipDirs?: readonly Buffer[];
  readonly fs?: WalkFs;
  /** Entries lstat'ed before the walk yields to the event loop. */
  readonly statBatch?: number;
  readonly onProblem?: (problem: WalkProblem) => void;
}

interface Frame {
  readonly path: Buffer;
  readonly list: EntryList;
  /** Selection below this directory, or null when everything below is included. */
  readonly selection: SelectionNode | null;
  /** Indexes (into list) of subdirectories to descend into, in order. */
  readonly subdirs: number[];
  next: number;
  readonly omitted: Set<number>;
  /** Digests of the subdirectories walked, by index into list. */
  readonly childDigests: Map<number, Buffer | null>;
}

class Listing implements DirectoryListing {
  constructor(
    readonly path: Buffer,
    readonly list: EntryList,
    readonly digest: Buffer | null,
  ) {}

  regularFiles(): { files: number; bytes: number } {
    return regularFiles(this.list);
  }

  lastName(): Buffer | null {
    return this.list.length === 0 ? null : this.list.name(this.list.length - 1);
  }

  get entryCount(): number {
    return this.list.length;
  }
}

const ROOT = Buffer.from('/');
const ENOENT = osConstants.errno.ENOENT;
const { S_IFMT, S_IFDIR } = fsConstants;
/** Scans running ahead of the walk at once (libuv's pool has four threads by default), and entries they may hold. */
const SCANS_AHEAD = 4;
const SCANNED_ENTRIES_AHEAD = 100_000;

export class TreeWalker {
  private readonly selection: SelectionNode;
  private readonly excludes: ExcludeMatcher;
  private readonly skipDirs: ReadonlySet<string>;
  private readonly fs: WalkFs;
  private readonly statBatch: number;
  private readonly problemList: WalkProblem[] = [];
  /** With a native scan: the scans started ahead of the walk. */
  private readonly ahead: ScanAhead | null;

  constructor(private readonly options: WalkOptions) {
    this.selection = buildSelection(options.paths);
    this.excludes = new ExcludeMatcher(options.excludes ?? []);
    this.skipDirs = new Set((options.skipDirs ?? []).map((dir) => dir.toString('latin1')));
    this.fs = options.fs ?? nodeWalkFs;
    this.statBatch = options.statBatch ?? 1024;
    const scan = this.fs.scan;
    this.ahead = scan === undefined ? null : new ScanAhead(scan, (path, listed) => this.subdirectoriesToWalk(path, listed), SCANS_AHEAD, SCANNED_ENTRIES_AHEAD);
  }

  get problems(): readonly WalkProblem[] {
    return this.problemList;
  }

  async *directories(): AsyncGenerator<DirectoryListing> {
    try {
      yield* this.walk();
    } finally {
      this.ahead?.close();
    }
  }

  private async *walk(): AsyncGenerator<DirectoryListing> {
    if (this.skipDirs.has(ROOT.toString('latin1'))) return;
    const root = await this.openFrame(ROOT, this.selection.whole ? null : this.selection);
    if (root === null) return;
    const stack: Frame[] = [root];
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      if (top.next < top.subdirs.length) {
        const index = top.subdirs[top.next++]!;
        const name = top.list.name(index);
        const path = joinPath(top.path, name);
        if (this.skipped(path)) continue;
        const childSelection = top.selection === null ? null : (top.selection.children.get(name.toString('latin1')) ?? null);
        const frame = await this.openFrame(path, childSelection === null || childSelection.whole ? null : childSelection);
        if (frame === null) top.omitted.add(index);
        else stack.push(frame);
        continue;
      }
      stack.pop();
      const { list, childDigests } = top.omitted.size === 0 ? top : withoutOmitted(top);
      const digest = list.digest((index) => childDigests.get(index) ?? null);
      const parent = stack[stack.length - 1];
      parent?.childDigests.set(parent.subdirs[parent.next - 1]!, digest);
      yield new Listing(top.path, list, digest);
    }
  }

  private skipped(path: Buffer): boolean {
    return this.skipDirs.size > 0 && this.skipDirs.has(path.toString('latin1'));
  }

  /** The subdirectories of a scanned directory the walk enters: listed, lstat'ed, not excluded, not skipped. */
  private subdirectoriesToWalk(path: Buffer, scan: DirectoryScan): Buffer[] {
    const paths: Buffer[] = [];
    for (let record = 0; record < scan.length; record++) {
      if (scan.errno(record) !== 0 || (scan.mode(record) & S_IFMT) !== S_IFDIR) continue;
      const name = scan.name(record);
      const childPath = joinPath(path, name);
      if (!this.excludes.empty && (this.excludes.excludes(name, childPath, null) || this.excludes.excludes(name, childPath, true))) continue;
      if (!this.skipped(childPath)) paths.push(childPath);
    }
    return paths;
  }

  /** Lists one directory (from its scan when one was started ahead); null (problem recorded) when it cannot be listed. */
  private async openFrame(path: Buffer, selection: SelectionNode | null): Promise<Frame | null> {
    let list: EntryList;
    try {
      list =
        selection !== null
          ? new MetaEntryList(this.listSelected(path, selection))
          : this.ahead !== null
            ? await this.listScanned(path, this.ahead)
            : new MetaEntryList(await this.listWhole(path));
    } catch (error) {
      this.problem(path, `cannot read directory: ${errorMessage(error)}`, false);
      return null;
    }
    const subdirs: number[] = [];
    for (let index = 0; index < list.length; index++) if (list.type(index) === DIR) subdirs.push(index);
    return { path, list, selection, subdirs, next: 0, omitted: new Set(), childDigests: new Map() };
  }

  /** One scan for the whole directory (off the main thread); entries are read in place, problems recorded as listWhole does. */
  private async listScanned(path: Buffer, ahead: ScanAhead): Promise<EntryList> {
    const taken = ahead.take(path);
    const scan = new DirectoryScan(await (taken ?? this.fs.scan!(path)));
    if (taken === null) ahead.expand(path, scan);
    const kept: number[] = [];
    const types = new Uint8Array(scan.length);
    const filtering = !this.excludes.empty;
    for (let record = 0; record < scan.length; record++) {
      let childPath: Buffer | null = null;
      const name = filtering ? scan.name(record) : null;
      if (name !== null) {
        childPath = joinPath(path, name);
        if (this.excludes.excludes(name, childPath, null)) continue;
      }
      const errno = scan.errno(record);
      if (errno !== 0) {
        childPath ??= joinPath(path, scan.name(record));
        const message = systemErrorMessage(errno, scan.failedCall(record), childPath);
        this.problem(childPath, `${errno === ENOENT ? 'vanished during the walk' : 'cannot stat'}: ${message}`, false);
        continue;
      }
      let type: EntryType;
      try {
        type = entryTypeOfMode(scan.mode(record));
      } catch (error) {
        this.problem(childPath ?? joinPath(path, scan.name(record)), `cannot stat: ${errorMessage(error)}`, false);
        continue;
      }
      if (type === SOCKET) {
        this.problem(childPath ?? joinPath(path, scan.name(record)), 'socket skipped', true);
        continue;
      }
      if (type === DIR && this.excludes.hasDirectoryPatterns && this.excludes.excludes(name!, childPath!, true)) continue;
      types[kept.length] = type;
      kept.push(record);
    }
    return new ScannedEntryList(scan, kept, types.subarray(0, kept.length));
  }

  private async listWhole(path: Buffer): Promise<EntryMeta[]> {
    const names = (await this.fs.readdir(path)).sort((a, b) => Buffer.compare(a, b));
    const candidates = names
      .map((name) => ({ name, path: joinPath(path, name) }))
      .filter((candidate) => !this.excludes.excludes(candidate.name, candidate.path, null));
    const metas: EntryMeta[] = [];
    for (const [i, candidate] of candidates.entries()) {
      if (i > 0 && i % this.statBatch === 0) await yieldToEventLoop();
      const meta = this.describe(candidate.name, candidate.path, false);
      if (meta !== null) metas.push(meta);
    }
    return metas;
  }

  /** An intermediate directory: only the selected children, which must exist and are never excluded. */
  private listSelected(path: Buffer, selection: SelectionNode): EntryMeta[] {
    const names = [...selection.children.keys()].map((key) => Buffer.from(key, 'latin1')).sort((a, b) => Buffer.compare(a, b));
    const metas: EntryMeta[] = [];
    for (const name of names) {
      const childPath = joinPath(path, name);
      const child = selection.children.get(name.toString('latin1'))!;
      const meta = this.describe(name, childPath, true);
      if (meta !== null && !child.whole && meta.type !== EntryType.Dir) {
        this.problem(childPath, 'cannot back up the paths configured below it: not a directory (symlinks are never followed)', false);
        continue;
      }
      if (meta !== null) metas.push(meta);
    }
    return metas;
  }

  /** lstat (and readlink) one entry; null when it is gone, excluded, or a socket. */
  private describe(name: Buffer, path: Buffer, configured: boolean): EntryMeta | null {
    let stats: BigIntStats;
    let linkTarget: Buffer | null = null;
    try {
      stats = this.fs.lstat(path);
      const type = entryTypeOf(stats);
      if (type === EntryType.Socket) {
        this.problem(path, 'socket skipped', true);
        return null;
      }
      if (!configured && type === EntryType.Dir && this.excludes.hasDirectoryPatterns && this.excludes.excludes(name, path, true)) {
        return null;
      }
      if (type === EntryType.Symlink) linkTarget = this.fs.readlink(path);
    } catch (error) {
      const gone = (error as NodeJS.ErrnoException).code === 'ENOENT';
      const message = configured && gone ? 'configured path does not exist' : `${gone ? 'vanished during the walk' : 'cannot stat'}: ${errorMessage(error)}`;
      this.problem(path, message, false);
      return null;
    }
    return toEntryMeta(name, stats, linkTarget);
  }

  private problem(path: Buffer, message: string, skipped: boolean): void {
    const problem: WalkProblem = { path, message, skipped };
    this.problemList.push(problem);
    this.options.onProblem?.(problem);
  }
}

/** A frame's entries without its omitted subdirectories (unreadable), the digests of the rest re-indexed. */
function withoutOmitted(frame: Frame): { list: EntryList; childDigests: Map<number, Buffer | null> } {
  const childDigests = new Map<number, Buffer | null>();
  let kept = 0;
  for (let index = 0; index < frame.list.length; index++) {
    if (frame.omitted.has(index)) continue;
    if (frame.childDigests.has(index)) childDigests.set(kept, frame.childDigests.get(index)!);
    kept += 1;
  }
  return { list: frame.list.without(frame.omitted), childDigests };
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
