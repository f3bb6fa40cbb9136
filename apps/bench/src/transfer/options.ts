/** Command line of `npm run bench`: defaults are the issue's tree; the flags scale it down for a quick run. */

export type CaseNumber = 1 | 2 | 3 | 4;

export interface BenchOptions {
  readonly json: boolean;
  readonly cases: readonly CaseNumber[];
  /** Files in the one big directory (`many-small/`). */
  readonly smallFiles: number;
  /** Files in the nested tree (`tree/`). */
  readonly treeFiles: number;
  readonly largeFiles: number;
  readonly largeMiB: number;
  /** Case 4: what crosses the link: the large files only (a bulk rate, as rsync's reference figure) or the whole tree. */
  readonly linkData: 'large' | 'all';
  readonly linkMbit: number;
  /**
   * Cases 1-3 are run this many times, each round on a fresh tree, repository and rsync destination, in
   * alternating order (Berth first, then rsync first); the round with the median time ratio is reported.
   */
  readonly rounds: number;
  /** Restore Berth's last snapshot and compare it with the source (adds a restore to the run). */
  readonly verify: boolean;
  /** Agent and receiver run with --cpu-prof, restarted after each case so each case gets its own profile. */
  readonly profile: boolean;
  /** Keep the work directory (trees, repository, logs, profiles) instead of removing it. */
  readonly keep: boolean;
  /**
   * Before case 3, both systems back up an earlier day of changes, untimed: case 3 then measures a stack that has
   * done a day's backup before (a long-running agent and receiver), not the first one after their start.
   */
  readonly warmDay: boolean;
  /**
   * Before case 4's measured run, Berth's stack (just started for the link) backs up another small directory of the
   * same host, untimed: case 4 then measures services that have run a backup, not their first requests.
   */
  readonly warmLink: boolean;
}

export const USAGE = `Usage: npm run bench -- [options]

  --cases LIST          cases to run, e.g. 1,2,3 (default 1,2,3,4); 2 and 3 run case 1 first untimed when it is not listed
  --small-files N       files in the one big directory (default 26000)
  --tree-files N        files in the nested tree (default 4000)
  --large-files N       large files (default 2)
  --large-mib N         size of each large file in MiB (default 64)
  --link-data large|all case 4 sends the large files only (default) or the whole tree
  --link-mbit N         case 4 link rate (default 100)
  --rounds N            rounds of cases 1-3, each from scratch; the median round is reported (default 3)
  --verify              restore Berth's last snapshot and compare it with the source
  --profile             CPU profiles of agent, receiver and controller per case (first round), summarized in the report
  --keep                keep the work directory (trees, repository, logs, profiles)
  --warm-day            before case 3, back up an earlier day of changes with both systems, untimed (case 3 then
                        measures services that have done a day's backup since they started)
  --warm-link           before case 4, Berth's stack across the link backs up another small directory of the host,
                        untimed (case 4 then measures services that have run a backup since they started)
  --json                one JSON object on the last line of stdout
`;

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

function integerFlag(flag: string, raw: string | undefined, min: number, max: number): number {
  if (raw === undefined || !/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new UsageError(`${flag} needs an integer from ${min} to ${max}, got ${raw === undefined ? 'nothing' : `"${raw}"`}`);
  }
  return Number(raw);
}

function parseCases(raw: string | undefined): CaseNumber[] {
  const parts = (raw ?? '').split(',').map((part) => part.trim());
  const cases = new Set<CaseNumber>();
  for (const part of parts) {
    if (part !== '1' && part !== '2' && part !== '3' && part !== '4') throw new UsageError(`--cases takes a list of 1, 2, 3 and 4, got "${raw ?? ''}"`);
    cases.add(Number(part) as CaseNumber);
  }
  return [...cases].sort();
}

export function parseOptions(argv: readonly string[]): BenchOptions | 'help' {
  let options: BenchOptions = {
    json: false,
    cases: [1, 2, 3, 4],
    smallFiles: 26_000,
    treeFiles: 4_000,
    largeFiles: 2,
    largeMiB: 64,
    linkData: 'large',
    linkMbit: 100,
    rounds: 3,
    verify: false,
    profile: false,
    keep: false,
    warmDay: false,
    warmLink: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const eq = arg.indexOf('=');
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const value = (): string | undefined => (eq > 0 ? arg.slice(eq + 1) : argv[++i]);
    switch (flag) {
      case '--help':
      case '-h':
        return 'help';
      case '--json':
        options = { ...options, json: true };
        break;
      case '--verify':
        options = { ...options, verify: true };
        break;
      case '--profile':
        options = { ...options, profile: true };
        break;
      case '--keep':
        options = { ...options, keep: true };
        break;
      case '--warm-day':
        options = { ...options, warmDay: true };
        break;
      case '--warm-link':
        options = { ...options, warmLink: true };
        break;
      case '--cases':
        options = { ...options, cases: parseCases(value()) };
        break;
      case '--small-files':
        options = { ...options, smallFiles: integerFlag(flag, value(), 200, 1_000_000) };
        break;
      case '--tree-files':
        options = { ...options, treeFiles: integerFlag(flag, value(), 0, 1_000_000) };
        break;
      case '--large-files':
        options = { ...options, largeFiles: integerFlag(flag, value(), 0, 16) };
        break;
      case '--large-mib':
        options = { ...options, largeMiB: integerFlag(flag, value(), 1, 4096) };
        break;
      case '--rounds':
        options = { ...options, rounds: integerFlag(flag, value(), 1, 9) };
        break;
      case '--link-mbit':
        options = { ...options, linkMbit: integerFlag(flag, value(), 1, 10_000) };
        break;
      case '--link-data': {
        const data = value();
        if (data !== 'large' && data !== 'all') throw new UsageError(`--link-data is "large" or "all", got "${data ?? ''}"`);
        options = { ...options, linkData: data };
        break;
      }
      default:
        throw new UsageError(`unknown argument "${arg}"\n${USAGE}`);
    }
  }
  if (options.warmDay && !options.cases.includes(3)) {
    throw new UsageError('--warm-day comes before case 3: it needs case 3 among --cases');
  }
  if (options.warmLink && !options.cases.includes(4)) {
    throw new UsageError('--warm-link comes before case 4: it needs case 4 among --cases');
  }
  if (options.linkData === 'large' && options.largeFiles === 0 && options.cases.includes(4)) {
    throw new UsageError('case 4 with --link-data large needs at least one large file (--large-files)');
  }
  return options;
}
