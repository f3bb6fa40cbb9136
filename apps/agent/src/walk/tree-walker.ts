/**
 * Walks the selected trees in the one fixed order of Berth: names sorted by bytes (Buffer.compare),
 * post-order (a directory is yielded after all its subdirectories, "/" last). Every filesystem call is
 * on Buffer paths and none follows a symlink.
 *
 * Trouble with one entry never stops the walk: an entry that vanishes, or a directory that cannot be
 * listed, is reported as a problem and left out of its parent's listing (an unreadable directory is
 * omitted with its whole subtree rather than sent empty, so a restore never shows a misleading empty
 * directory). Sockets are left out with a "skipped" note.
 */
import { type BigIntStats } from 'node:fs';
import { EntryType, type EntryMeta } from '@berth/wire';
import { errorMessage } from '../errors/agent-error';
import { toEntryMeta, entryTypeOf } from './entry-meta';
import { ExcludeMatcher } from './exclude-matcher';
import { buildSelection, joinPath, type SelectionNode } from './selection';
import { nodeWalkFs, type WalkFs } from './walk-fs';

export interface DirectoryListing {
  /** Absolute path bytes ("/" for the snapshot root). */
  readonly path: Buffer;
  /** Entries sorted by name bytes. */
  readonly entries: readonly EntryMeta[];
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
  /** lstat calls made before the walk yields to the event loop. */
  readonly statBatch?: number;
  readonly onProblem?: (problem: WalkProblem) => void;
}

interface Frame {
  readonly path: Buffer;
  readonly entries: EntryMeta[];
  /** Selection below this directory, or null when everything below is included. */
  readonly selection: SelectionNode | null;
  /** Indexes (into entries) of subdirectories to descend into, in order. */
  readonly subdirs: number[];
  next: number;
  readonly omitted: Set<number>;
}

const ROOT = Buffer.from('/');

export class TreeWalker {
  private readonly selection: SelectionNode;
  private readonly excludes: ExcludeMatcher;
  private readonly skipDirs: ReadonlySet<string>;
  private readonly fs: WalkFs;
  private readonly statBatch: number;
  private readonly problemList: WalkProblem[] = [];

  constructor(private readonly options: WalkOptions) {
    this.selection = buildSelection(options.paths);
    this.excludes = new ExcludeMatcher(options.excludes ?? []);
    this.skipDirs = new Set((options.skipDirs ?? []).map((dir) => dir.toString('latin1')));
    this.fs = options.fs ?? nodeWalkFs;
    this.statBatch = options.statBatch ?? 1024;
  }

  get problems(): readonly WalkProblem[] {
    return this.problemList;
  }

  async *directories(): AsyncGenerator<DirectoryListing> {
    if (this.skipDirs.has(ROOT.toString('latin1'))) return;
    const root = await this.openFrame(ROOT, this.selection.whole ? null : this.selection);
    if (root === null) return;
    const stack: Frame[] = [root];
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      if (top.next < top.subdirs.length) {
        const index = top.subdirs[top.next++]!;
        const entry = top.entries[index]!;
        const path = joinPath(top.path, entry.name);
        if (this.skipDirs.has(path.toString('latin1'))) continue;
        const childSelection = top.selection === null ? null : (top.selection.children.get(entry.name.toString('latin1')) ?? null);
        const frame = await this.openFrame(path, childSelection === null || childSelection.whole ? null : childSelection);
        if (frame === null) top.omitted.add(index);
        else stack.push(frame);
        continue;
      }
      stack.pop();
      yield { path: top.path, entries: top.omitted.size === 0 ? top.entries : top.entries.filter((_, i) => !top.omitted.has(i)) };
    }
  }

  /** Lists one directory; null (problem recorded) when it cannot be listed. */
  private async openFrame(path: Buffer, selection: SelectionNode | null): Promise<Frame | null> {
    let entries: EntryMeta[];
    try {
      entries = selection === null ? await this.listWhole(path) : this.listSelected(path, selection);
    } catch (error) {
      this.problem(path, `cannot read directory: ${errorMessage(error)}`, false);
      return null;
    }
    const subdirs: number[] = [];
    entries.forEach((entry, index) => {
      if (entry.type === EntryType.Dir) subdirs.push(index);
    });
    return { path, entries, selection, subdirs, next: 0, omitted: new Set() };
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

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
