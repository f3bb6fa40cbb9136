/**
 * Exclude globs, matched with picomatch on latin1 strings: every byte of a name becomes one character,
 * so names that are not UTF-8 can still be matched and nothing is lost in translation. Patterns are
 * turned into the same byte-per-character form (their UTF-8 bytes), so a UTF-8 pattern matches the UTF-8
 * name it spells. Consequence: `?` matches one byte, not one multi-byte character.
 *
 * Rules (README "Excludes"):
 * - a pattern without "/" matches an entry's name at any depth (`*.tmp`, `node_modules`);
 * - a pattern starting with "/" is anchored at the filesystem root (`/var/cache/**`, `/home/*\/.cache`);
 * - any other pattern with a "/" matches the trailing components of a path (`build/out` excludes
 *   `/x/build/out` and `/build/out`), like rsync;
 * - `**` spans directories; `*` and `?` never match "/"; dot files are matched like any other name;
 * - a trailing "/" restricts the pattern to directories (`cache/`).
 */
import picomatch from 'picomatch';
import { AgentError, AgentErrorCode } from '../errors/agent-error';

interface CompiledPattern {
  readonly source: string;
  readonly directoriesOnly: boolean;
  /** True: tested against the entry's name; false: against its absolute path. */
  readonly onName: boolean;
  readonly test: (candidate: string) => boolean;
}

export class ExcludeMatcher {
  private readonly patterns: readonly CompiledPattern[];

  constructor(patterns: readonly string[]) {
    this.patterns = patterns.map(compile);
  }

  get empty(): boolean {
    return this.patterns.length === 0;
  }

  /**
   * True when the entry is excluded. `isDirectory` null means "not known yet": only patterns that apply
   * to every type are tried (lets the walker drop most excluded entries before calling lstat on them).
   */
  excludes(name: Buffer, path: Buffer, isDirectory: boolean | null): boolean {
    if (this.patterns.length === 0) return false;
    let nameText: string | null = null;
    let pathText: string | null = null;
    for (const pattern of this.patterns) {
      if (pattern.directoriesOnly && isDirectory !== true) continue;
      if (pattern.onName) {
        nameText ??= name.toString('latin1');
        if (pattern.test(nameText)) return true;
      } else {
        pathText ??= path.toString('latin1');
        if (pattern.test(pathText)) return true;
      }
    }
    return false;
  }

  /** Patterns that apply only to directories (they need the entry's type, hence lstat, first). */
  get hasDirectoryPatterns(): boolean {
    return this.patterns.some((pattern) => pattern.directoriesOnly);
  }
}

function compile(source: string): CompiledPattern {
  if (typeof source !== 'string' || source.trim() === '' || source.includes('\0')) {
    throw new AgentError(AgentErrorCode.BadJob, `exclude pattern ${JSON.stringify(source)} is empty or holds a NUL byte`);
  }
  let body = source;
  const directoriesOnly = body.length > 1 && body.endsWith('/');
  if (directoriesOnly) body = body.replace(/\/+$/, '');
  const anchored = body.startsWith('/');
  const onName = !anchored && !body.includes('/');
  const glob = anchored || onName ? body : `**/${body}`;
  const bytewise = Buffer.from(glob, 'utf8').toString('latin1');
  let test: (candidate: string) => boolean;
  try {
    // windows: false keeps "\" an escape character on every platform; dot: dot files are ordinary names.
    test = picomatch(bytewise, { dot: true, windows: false });
  } catch (error) {
    throw new AgentError(AgentErrorCode.BadJob, `exclude pattern ${JSON.stringify(source)} is not a valid glob: ${(error as Error).message}`);
  }
  return { source, directoriesOnly, onName, test };
}
