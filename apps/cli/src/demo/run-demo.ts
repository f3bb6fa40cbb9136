import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type RunResponse } from '@berth/contracts';
import { compareTrees, type Fleet, formatDifferences, generateSampleTree, mutateSampleTree, REPO_ROOT, startFleet } from '@berth/harness';
import { ensureLocalStack } from '@berth/local-stack';
import { ApiClient } from '../api/api-client';
import { type DemoCommandOptions } from '../commands/demo.command';
import { waitForRun } from '../commands/wait-for-run';
import { type CliContext } from '../context';
import { CliError, UsageError } from '../errors/cli-error';
import { onInterrupt } from '../interrupt';
import { formatBytes, formatCount, formatDuration } from '../output/units';
import { formatDemoSteps, formatVerification } from './demo-report';
import { locateRestoredTree } from './locate-restore';

/** Git-ignored; emptied at the start of every demo. */
export const DEMO_DIR = path.join(REPO_ROOT, '.berth', 'demo');

function parseSmallFiles(raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 200_000) throw new UsageError(`--small-files must be an integer from 1 to 200000, got "${raw}"`);
  return n;
}

class DemoFailure extends CliError {
  constructor(step: string, reason: string) {
    super(`demo failed while ${step}: ${reason}; logs in ${path.relative(process.cwd(), path.join(DEMO_DIR, 'logs')) || '.'}`);
  }
}

const seconds = (startMs: number): string => formatDuration(Date.now() - startMs);

/**
 * `berth demo`: PostgreSQL and Redis (reachable ones or local ones), controller, receiver and one agent as
 * real processes, a generated tree backed up twice with changes in between, the second snapshot restored
 * and verified against the source. Everything started is stopped again, whatever happens.
 */
export async function runDemo(ctx: CliContext, options: DemoCommandOptions): Promise<void> {
  const smallFiles = parseSmallFiles(options.smallFiles);
  const started = Date.now();
  const say = (line: string): void => ctx.print(`${line}\n`);
  let step = 'preparing';
  let fleet: Fleet | null = null;
  let stopStack: (() => Promise<void>) | null = null;
  const stopAll = async (): Promise<void> => {
    const current = fleet;
    fleet = null;
    if (current !== null) await current.stop();
    const stop = stopStack;
    stopStack = null;
    if (stop !== null) await stop();
  };
  const removeInterruptHook = onInterrupt(stopAll);
  const restoreDir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-demo-restore-'));

  try {
    await fs.rm(DEMO_DIR, { recursive: true, force: true });
    await fs.mkdir(DEMO_DIR, { recursive: true });
    const sourceDir = path.join(DEMO_DIR, 'source');

    step = 'starting PostgreSQL and Redis';
    let t = Date.now();
    const stack = await ensureLocalStack({ log: (line: string) => say(`  ${line}`) });
    stopStack = () => stack.stop();
    say(`PostgreSQL and Redis ready (${seconds(t)})`);

    step = 'starting controller, receiver and agent';
    t = Date.now();
    fleet = await startFleet({ workDir: DEMO_DIR, stack, databasePrefix: 'demo' });
    say(`database migrated, controller ${fleet.controller.url} and receiver 127.0.0.1:${fleet.receiver.port} started (${seconds(t)})`);

    step = 'generating the sample tree';
    t = Date.now();
    const tree = await generateSampleTree(sourceDir, { seed: 1, smallFiles, largeFiles: 3, largeFileBytes: 6 * 1024 * 1024 });
    say(
      `sample tree ${path.relative(process.cwd(), sourceDir) || sourceDir}: ${formatCount(tree.files)} files (${formatCount(smallFiles)} in one directory), ` +
        `${formatCount(tree.dirs)} dirs, ${formatCount(tree.symlinks)} symlinks, hard links, ${formatBytes(tree.bytes)} (${seconds(t)})`,
    );

    step = 'registering the host and starting its agent';
    t = Date.now();
    const hostName = `demo-${os.hostname().replace(/[^A-Za-z0-9._-]/g, '-')}`.slice(0, 63);
    const { host } = await fleet.addHostWithAgent({ name: hostName, paths: [sourceDir], excludes: [] });
    say(`host ${host.name} registered, its agent enrolled and waiting for jobs (${seconds(t)})`);
    for (const skipped of tree.skipped) say(`  not in the tree: ${skipped}`);

    const api = new ApiClient(fleet.controller.url, { token: fleet.controller.adminToken });
    const follow = async (label: string, run: RunResponse): Promise<RunResponse> => {
      // A progress bar on a terminal; elsewhere the summary lines below are enough.
      const done = await waitForRun(api, run.id, { progress: ctx.stderr, pollMs: 250, quiet: ctx.stderr.isTTY !== true });
      if (done.status !== 'succeeded') throw new DemoFailure(label, `run ${done.id} ended ${done.status}${done.error !== null ? `: ${done.error}` : ''}`);
      say(`${label}: ${done.status} in ${formatDuration(done.finishedAt !== null && done.startedAt !== null ? Date.parse(done.finishedAt) - Date.parse(done.startedAt) : 0)}`);
      return done;
    };

    step = 'running the first backup';
    const first = await follow('backup 1 (full)', await api.startBackup(host.id));

    step = 'changing the tree';
    const changes = await mutateSampleTree(sourceDir, { seed: 2 });
    say(
      `changed the tree: ${changes.edited.length} files edited, ${changes.added.length} added, ${changes.deleted.length} deleted, ` +
        `${formatBytes(changes.patched[0]?.length ?? 0)} overwritten in the middle of ${changes.patched[0]?.path ?? '-'}`,
    );

    step = 'running the second backup';
    const second = await follow('backup 2 (after changes)', await api.startBackup(host.id));
    if (second.snapshotId === null) throw new DemoFailure(step, `run ${second.id} succeeded but names no snapshot`);

    step = 'restoring the second snapshot';
    const restore = await follow('restore of snapshot 2', await api.restoreSnapshot(second.snapshotId, { targetDir: restoreDir }));

    step = 'verifying the restored tree';
    t = Date.now();
    const restoredRoot = await locateRestoredTree(restoreDir, sourceDir);
    const ownership = process.getuid?.() === 0;
    const comparison = await compareTrees(sourceDir, restoredRoot, { ownership });
    if (!comparison.equal) {
      throw new DemoFailure(step, `${comparison.differences.length} difference(s) between source and restore:\n${formatDifferences(comparison, 10)}`);
    }
    const verifyTime = seconds(t);

    say('');
    ctx.print(
      formatDemoSteps([
        { label: 'backup 1 (full)', run: first },
        { label: 'backup 2 (changed)', run: second },
        { label: 'restore 2', run: restore },
      ]),
    );
    say('');
    say(`verified in ${verifyTime}: ${formatVerification(comparison, ownership)}`);
    say(`repository ${path.relative(process.cwd(), fleet.repositoryDir) || fleet.repositoryDir}: ${formatBytes(await directoryBytes(fleet.repositoryDir))} on disk for ${formatBytes(first.counters.bytesDone + second.counters.bytesDone)} backed up in two snapshots`);

    step = 'stopping the services';
    await stopAll();
    say(`demo done in ${seconds(started)}; everything it started is stopped.`);
  } catch (error) {
    await stopAll().catch(() => undefined);
    if (error instanceof CliError) throw error;
    throw new DemoFailure(step, error instanceof Error ? error.message : String(error));
  } finally {
    removeInterruptHook();
    if (options.keep !== true) await fs.rm(restoreDir, { recursive: true, force: true });
    else say(`kept: ${DEMO_DIR} and the restore in ${restoreDir}`);
  }
}

/** Bytes the files under `dir` occupy (apparent sizes), to show what dedup and packing saved. */
async function directoryBytes(dir: string): Promise<number> {
  let total = 0;
  const entries = await fs.readdir(dir, { withFileTypes: true, recursive: true });
  for (const entry of entries) {
    if (entry.isFile()) total += (await fs.stat(path.join(entry.parentPath, entry.name))).size;
  }
  return total;
}
