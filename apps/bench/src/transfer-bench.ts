/**
 * `npm run bench`: Berth (controller, receiver, agent as real processes; the receiver fsyncs what it stores)
 * against stock rsync (a daemon on loopback, pushed to with `rsync -a --delete --stats`), on the same generated
 * tree, in one run:
 *
 *   1 first full backup          26,000 files of 0.5-8 KiB in one directory, ~4,000 in a tree, two 64 MiB files
 *   2 second backup, nothing changed
 *   3 after a day's changes      1% of the small files edited, 100 added, 100 deleted, a directory renamed,
 *                                4 KiB overwritten inside each large file
 *   4 over a 100 Mbit link       receiver and rsync daemon in a network namespace behind a tbf-shaped veth pair
 *                                (root and iproute2 needed, else reported as skipped with the reason)
 *
 * Berth's time is API trigger to the controller's finishedAt; rsync's is the client's run. Bytes: what the
 * agent sent to the receiver in framed messages (the receiver's session log) against rsync's "Total bytes
 * sent"; in case 4 the frames counted on the veth for both. Each system's destination carries over from case
 * to case (Berth's repository and last snapshot, rsync's module directory mirrored with --delete).
 *
 * Cases 1-3 run in rounds (default 3), each from scratch and in alternating order; the round with the median
 * Berth/rsync time ratio is reported with the range of all rounds. Case 4 runs once.
 *
 * Prints tables and the targets (stdout; progress on stderr); with --json one JSON object on the last line.
 * Figures are wall clock on a shared machine: the load average, the CPU seconds of each side and the CPUs kept
 * busy by other work meanwhile stand beside them.
 */
import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compareTrees, formatDifferences } from '@berth/harness';
import { ensureLocalStack, type LocalStack } from '@berth/local-stack';
import { ensureRsync, rsyncVersion } from './delta/rsync';
import { type BerthUnderTest, type Stack, startLinkBerth, startLoopbackBerth } from './transfer/berth-fleet';
import { type BerthRun, runBerthBackup } from './transfer/berth-run';
import { createLink, shareOfLink, type Link } from './transfer/link';
import { type BenchOptions, type CaseNumber, parseOptions, USAGE, UsageError } from './transfer/options';
import { loadAverage } from './transfer/proc-stats';
import { formatProfile, summarizeProfile } from './transfer/profile-summary';
import { checkTargets, type CaseOutcome, formatReport, type LinkFigures, type MeasuredCase, measuredCase, medianRound } from './transfer/report';
import { pushWithRsync, type RsyncDaemon, type RsyncPush, startRsyncDaemon } from './transfer/rsync-daemon';
import { applyDayOfChanges, census, generateSourceTree, type DayOfChanges, type TreeCensus, writeWarmUpDirectory } from './transfer/source-tree';

const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

const CASE_NAMES: Record<CaseNumber, string> = { 1: 'first-full', 2: 'unchanged', 3: 'day-of-changes', 4: 'link' };

interface Run {
  readonly options: BenchOptions;
  readonly work: string;
  readonly source: string;
  readonly stack: Stack;
  readonly cases: CaseOutcome[];
  readonly notes: string[];
  readonly profiles: string[];
}

/** Dirty pages of earlier steps are written out before anything is timed, so no system pays for another's. */
function syncDisks(): void {
  spawnSync('sync');
}

/** Both systems must have seen the whole source: rsync's --stats and Berth's snapshot against a census of it. */
async function checkAgainstSource(
  run: Run,
  label: string,
  tree: TreeCensus,
  rsync: { regularFiles: number; totalFileBytes: number },
  berth: BerthUnderTest,
  berthRun: BerthRun,
): Promise<void> {
  if (rsync.regularFiles !== tree.files || rsync.totalFileBytes !== tree.bytes + tree.symlinkBytes) {
    run.notes.push(`${label}: rsync saw ${rsync.regularFiles} files / ${rsync.totalFileBytes} bytes, the source has ${tree.files} / ${tree.bytes + tree.symlinkBytes}`);
  }
  const snapshot = (await berth.api.listSnapshots(berth.hostId)).find((s) => s.id === berthRun.snapshotId);
  if (snapshot === undefined) {
    run.notes.push(`${label}: Berth's run ${berthRun.runId} names snapshot ${berthRun.snapshotId ?? 'none'}, which the API does not list`);
  } else if (snapshot.stats.files !== tree.files || snapshot.stats.bytes !== tree.bytes) {
    run.notes.push(`${label}: Berth's snapshot holds ${snapshot.stats.files} files / ${snapshot.stats.bytes} bytes, the source has ${tree.files} / ${tree.bytes}`);
  }
}

/**
 * Profile mode: agent, receiver and controller sample their CPU
 * while `work` runs (SIGUSR2 starts and stops, see cpu-profile-hook.ts).
 */
async function profiled<T>(run: Run, berth: BerthUnderTest, label: string, profileDir: string, work: () => Promise<T>): Promise<T> {
  const { agent, receiver, controller } = berth.pids();
  const roles: [string, number][] = [['agent', agent], ['receiver', receiver], ...(berth.controllerProfiled ? ([['controller', controller]] as [string, number][]) : [])];
  const before = new Set(await fs.readdir(profileDir));
  const signal = (): void => {
    for (const [, pid] of roles) process.kill(pid, 'SIGUSR2');
  };
  signal();
  try {
    return await work();
  } finally {
    signal();
    const deadline = Date.now() + 15_000;
    let files: string[] = [];
    while (files.length < roles.length && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      files = (await fs.readdir(profileDir)).filter((f) => f.endsWith('.cpuprofile') && !before.has(f));
    }
    for (const file of files.sort()) {
      const role = roles.find(([name, pid]) => file.startsWith(`${name}-${pid}-`))?.[0] ?? file;
      run.profiles.push(formatProfile(`${label}, ${role}`, await summarizeProfile(path.join(profileDir, file))));
    }
    if (files.length < roles.length) run.notes.push(`${label}: ${files.length} of ${roles.length} CPU profiles written within 15 s`);
  }
}

/**
 * One round of cases 1-3 from scratch: a fresh source tree, Berth fleet (database, repository) and rsync
 * destination. Odd rounds run Berth first, even rounds rsync first, so neither always meets the same moment.
 */
async function loopbackRound(run: Run, round: number): Promise<MeasuredCase[]> {
  const { options, source } = run;
  const work = path.join(run.work, `round-${round}`);
  const wanted = (n: CaseNumber): boolean => options.cases.includes(n);
  const profileDir = path.join(run.work, 'profiles');
  const profiling = options.profile && round === 1;
  if (round > 1) {
    log(`round ${round} of ${options.rounds}: a fresh tree, repository and rsync destination`);
    await fs.rm(source, { recursive: true, force: true });
    await generateSourceTree(source, options);
  }
  const results: MeasuredCase[] = [];
  const berth = await startLoopbackBerth({ workDir: path.join(work, 'berth'), stack: run.stack, paths: [source], profileDir: profiling ? profileDir : null });
  let daemon: RsyncDaemon | null = null;
  try {
    daemon = await startRsyncDaemon(path.join(work, 'rsync'), path.join(work, 'rsync', 'destination'), null);
    const rsyncDaemon = daemon;
    /** One case, both systems; timed when asked for, unless it is the earlier day `--warm-day` adds. */
    const once = async (n: CaseNumber, description: string, warmUp = false): Promise<void> => {
      const tree = await census(source);
      const timed = wanted(n) && !warmUp;
      const untimed = warmUp ? 'an earlier day (--warm-day)' : 'the basis for later cases';
      log(`case ${n} (${CASE_NAMES[n]}${timed ? '' : `, untimed: ${untimed}`}): ${description}`);
      const load = loadAverage();
      const berthFirst = round % 2 === 1;
      let berthRun: BerthRun | null = null;
      let rsync: RsyncPush | null = null;
      for (const system of berthFirst ? ['Berth', 'rsync'] : ['rsync', 'Berth']) {
        syncDisks();
        if (system === 'Berth') {
          berthRun = profiling && !warmUp ? await profiled(run, berth, `case ${n} ${CASE_NAMES[n]}`, profileDir, () => runBerthBackup(berth)) : await runBerthBackup(berth);
          log(`  Berth: ${berthRun.seconds.toFixed(2)} s`);
        } else {
          rsync = await pushWithRsync(source, rsyncDaemon);
          log(`  rsync: ${rsync.seconds.toFixed(2)} s`);
        }
      }
      if (berthRun === null || rsync === null) throw new Error(`case ${n}: a system did not run`);
      await checkAgainstSource(run, `round ${round} case ${n}${warmUp ? ' (its earlier day)' : ''}`, tree, rsync, berth, berthRun);
      if (timed) results.push(measuredCase({ case: n, name: CASE_NAMES[n], description }, berthRun, rsync, null, load));
    };
    const first = await census(source);
    await once(1, `first full backup of ${first.files} files, ${(first.bytes / 1e6).toFixed(0)} MB`);
    if (wanted(2)) await once(2, 'second backup, nothing changed');
    if (wanted(3) && options.warmDay) {
      const earlier = await applyDayOfChanges(source, options, 'earlier');
      await once(3, describeDay(earlier), true);
    }
    if (wanted(3)) {
      const day = await applyDayOfChanges(source, options);
      await once(3, `${describeDay(day)}${options.warmDay ? ', after an untimed earlier day (--warm-day)' : ''}`);
    }
    if (options.verify && round === options.rounds) await verifyBoth(run, berth, rsyncDaemon);
  } finally {
    await daemon?.stop();
    await berth.stop();
  }
  // Each round's trees and repositories are a few hundred MB: only the last one is kept for --keep.
  if (!options.keep || round < options.rounds) await fs.rm(work, { recursive: true, force: true });
  return results;
}

function describeDay(day: DayOfChanges): string {
  const renamed = `${day.renamedDir.from} (${day.renamedDir.files} files, ${(day.renamedDir.bytes / 1e6).toFixed(1)} MB) renamed`;
  return `${day.edited} files edited, ${day.added} added, ${day.deleted} deleted, ${renamed}, 4 KiB overwritten in ${day.patchedLarge} large files`;
}

async function loopbackCases(run: Run): Promise<void> {
  const rounds: MeasuredCase[][] = [];
  for (let round = 1; round <= run.options.rounds; round++) rounds.push(await loopbackRound(run, round));
  for (const n of run.options.cases) {
    const measured = rounds.flatMap((r) => r.filter((c) => c.case === n));
    if (measured.length > 0) run.cases.push(medianRound(measured));
  }
}

/** --verify: Berth's last snapshot restored and rsync's mirror, each compared with the source. */
async function verifyBoth(run: Run, berth: BerthUnderTest, daemon: RsyncDaemon): Promise<void> {
  log('verify: restoring Berth\'s last snapshot and comparing it and rsync\'s mirror with the source...');
  const snapshots = await berth.api.listSnapshots(berth.hostId);
  const last = snapshots.sort((a, b) => a.publishedAt.localeCompare(b.publishedAt)).at(-1);
  if (last === undefined) {
    run.notes.push('verify: Berth has no snapshot');
    return;
  }
  const target = path.join(run.work, 'restore');
  const queued = await berth.api.restore(last.id, { targetDir: target });
  const restored = await berth.api.waitForRun(queued.id, { timeoutMs: 600_000 });
  if (restored.status !== 'succeeded') {
    run.notes.push(`verify: the restore ended ${restored.status}: ${restored.error ?? ''}`);
    return;
  }
  const berthComparison = await compareTrees(run.source, path.join(target, run.source), { directoryMtimes: false });
  run.notes.push(berthComparison.equal ? `verify: Berth's restore equals the source (${berthComparison.files} files)` : `verify: Berth's restore differs:\n${formatDifferences(berthComparison)}`);
  const rsyncComparison = await compareTrees(run.source, daemon.destination, { directoryMtimes: false });
  run.notes.push(rsyncComparison.equal ? `verify: rsync's mirror equals the source (${rsyncComparison.files} files)` : `verify: rsync's mirror differs:\n${formatDifferences(rsyncComparison)}`);
}

async function linkCase(run: Run): Promise<void> {
  const { options, work } = run;
  const name = CASE_NAMES[4];
  const outcome = createLink(options.linkMbit);
  if ('skipped' in outcome) {
    log(`case 4 skipped: ${outcome.skipped}`);
    run.cases.push({ case: 4, name, skipped: outcome.skipped });
    return;
  }
  const link: Link = outcome.link;
  let berth: BerthUnderTest | null = null;
  let daemon: RsyncDaemon | null = null;
  try {
    const source = options.linkData === 'large' ? path.join(run.source, 'large') : run.source;
    const tree = await census(source);
    const description = `first full backup of ${tree.files} files, ${(tree.bytes / 1e6).toFixed(0)} MB, across a ${options.linkMbit} Mbit/s link (${link.hostAddress} -> ${link.namespaceAddress})${options.warmLink ? ', after an untimed warm-up backup (--warm-link)' : ''}`;
    log(`case 4 (${name}): ${description}`);
    const profileDir = options.profile ? path.join(work, 'profiles') : null;
    const warmUp = options.warmLink ? path.join(work, 'link-warm-up') : null;
    const warmTree = warmUp === null ? null : await writeWarmUpDirectory(warmUp);
    berth = await startLinkBerth({ workDir: path.join(work, 'berth-link'), stack: run.stack, paths: [warmUp ?? source], profileDir }, link);
    daemon = await startRsyncDaemon(path.join(work, 'rsync-link'), path.join(work, 'rsync-link', 'destination'), link);
    if (warmTree !== null) {
      // The host's first backup is of another directory; the measured one is of the source, the same host's second.
      const warm = await runBerthBackup(berth);
      await berth.api.request('PATCH', `/hosts/${berth.hostId}`, { paths: [source] });
      run.notes.push(
        `case 4: Berth's stack (started for the link) first backed up ${warmTree.files} other files (${(warmTree.bytes / 1e6).toFixed(1)} MB) of the same host in ${warm.seconds.toFixed(2)} s, untimed (--warm-link); rsync's daemon forks per connection and has nothing to warm`,
      );
    }
    const load = loadAverage();
    syncDisks();
    log('  Berth...');
    const berthBefore = link.counters();
    const measured = berth;
    const berthRun = profileDir === null ? await runBerthBackup(measured) : await profiled(run, measured, `case 4 ${name}`, profileDir, () => runBerthBackup(measured));
    const berthAfter = link.counters();
    log(`  Berth: ${berthRun.seconds.toFixed(2)} s; rsync...`);
    syncDisks();
    const rsyncBefore = link.counters();
    const rsync = await pushWithRsync(source, daemon);
    const rsyncAfter = link.counters();
    log(`  rsync: ${rsync.seconds.toFixed(2)} s`);
    await checkAgainstSource(run, 'case 4', tree, rsync, berth, berthRun);
    const ratePct = (seconds: number): number => shareOfLink(tree.bytes, seconds, options.linkMbit, link.burstBytes);
    const figures: LinkFigures = {
      rateMbit: options.linkMbit,
      burstBytes: link.burstBytes,
      hz: link.hz,
      contentBytes: tree.bytes,
      berthFrames: { sent: berthAfter.sent - berthBefore.sent, received: berthAfter.received - berthBefore.received },
      rsyncFrames: { sent: rsyncAfter.sent - rsyncBefore.sent, received: rsyncAfter.received - rsyncBefore.received },
      berthRatePct: ratePct(berthRun.seconds),
      rsyncRatePct: ratePct(rsync.seconds),
    };
    run.cases.push(measuredCase({ case: 4, name, description }, berthRun, rsync, figures, load));
  } finally {
    await daemon?.stop();
    await berth?.stop();
    link.destroy();
  }
}

async function main(): Promise<void> {
  let options: BenchOptions | 'help';
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message}\n`);
      process.exitCode = 2;
      return;
    }
    throw error;
  }
  if (options === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  const startedAt = performance.now();
  const loadAtStart = loadAverage();
  ensureRsync(log);
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-transfer-bench-'));
  const cleanup = async (): Promise<void> => {
    if (!options.keep) await fs.rm(work, { recursive: true, force: true });
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void cleanup().finally(() => process.exit(130)));
  let stack: LocalStack | null = null;
  try {
    log(`Berth vs ${rsyncVersion()}; work directory ${work}; load average ${loadAtStart.toFixed(2)} on ${os.cpus().length} CPUs`);
    stack = await ensureLocalStack({
      log,
      env: { DATABASE_URL: process.env['DATABASE_URL'] ?? 'postgresql://root@127.0.0.1:5432/root', REDIS_URL: process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379' },
    });
    const source = path.join(work, 'source');
    log('writing the source tree...');
    const tree = await generateSourceTree(source, options);
    log(`  ${tree.files} files, ${tree.dirs} directories, ${tree.symlinks} symlinks, ${(tree.bytes / 1e6).toFixed(1)} MB`);
    const run: Run = { options, work, source, stack, cases: [], notes: [], profiles: [] };
    if (options.cases.some((n) => n !== 4)) await loopbackCases(run);
    if (options.warmDay && options.cases.includes(3)) {
      run.notes.push("--warm-day: case 3 followed an untimed earlier day of changes that both systems backed up; the issue's case 3 is measured without it");
    }
    if (options.cases.includes(4)) await linkCase(run);

    const targets = checkTargets(run.cases);
    const loadAtEnd = loadAverage();
    const elapsed = (performance.now() - startedAt) / 1000;
    const lines = [
      formatReport(run.cases, targets),
      '',
      `tree: ${tree.files} files, ${tree.dirs} directories, ${(tree.bytes / 1e6).toFixed(1)} MB; ${rsyncVersion()}; load average ${loadAtStart.toFixed(2)} at start, ${loadAtEnd.toFixed(2)} at end, ${os.cpus().length} CPUs; bench ${elapsed.toFixed(0)} s`,
      '(wall clock on a shared machine. Berth s = API trigger to the run\'s finishedAt; rsync s = the client\'s run; "sent" = agent/client to receiver/daemon;',
      ' Berth makes its data durable (fsync) before a run succeeds, rsync does not: "rsync +sync s" is a sync -f of its destination right after, not counted)',
      ...run.notes.map((note) => `note: ${note}`),
    ];
    if (run.profiles.length > 0) lines.push('', 'CPU profiles of the Berth run of each case (inspector, 0.5 ms sampling, first round):', ...run.profiles);
    process.stdout.write(`${lines.join('\n')}\n`);
    if (options.json) {
      process.stdout.write(
        `${JSON.stringify({ rsync: rsyncVersion(), cpus: os.cpus().length, loadAverage: { start: loadAtStart, end: loadAtEnd }, benchSeconds: elapsed, tree, options, cases: run.cases, targets, notes: run.notes })}\n`,
      );
    }
  } finally {
    await stack?.stop();
    await cleanup();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`transfer bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
