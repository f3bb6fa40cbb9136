import { type RunResponse } from '@berth/contracts';
import { type Command } from 'commander';
import { type CliContext } from '../context';
import { CliError } from '../errors/cli-error';
import { ExitCode } from '../errors/exit-codes';
import { formatRunDetail, newRunAnnouncement, type QueuedAnnouncement } from '../output/run-format';
import { type JsonOption } from './options';
import { waitForRun } from './wait-for-run';

/** Exit code for a finished run: succeeded 0, partial 3, failed or canceled 1. */
export function exitCodeForRun(run: RunResponse): ExitCode {
  switch (run.status) {
    case 'succeeded':
      return ExitCode.Ok;
    case 'partial':
      return ExitCode.Partial;
    case 'failed':
    case 'canceled':
      return ExitCode.Failure;
    case 'queued':
    case 'running':
      return ExitCode.Ok;
  }
}

/** Prints a started run; with --wait follows it to the end and turns its outcome into the exit code. */
export async function reportStartedRun(
  ctx: CliContext,
  command: Command,
  started: RunResponse,
  options: JsonOption & { wait?: boolean },
  announcement: QueuedAnnouncement = newRunAnnouncement(started),
): Promise<void> {
  if (options.wait !== true) {
    if (options.json === true) ctx.printJson(started);
    else ctx.print(`${announcement.headline}\nFollow it with \`berth run ${started.id}\`, or pass --wait.\n`);
    return;
  }
  if (options.json !== true) ctx.stderr.write(`${announcement.waitLine}\n`);
  const finished = await waitForRun(ctx.api(command), started.id, { progress: ctx.stderr, quiet: options.json === true && ctx.stderr.isTTY !== true });
  if (options.json === true) ctx.printJson(finished);
  else ctx.print(formatRunDetail(finished));
  const code = exitCodeForRun(finished);
  if (code === ExitCode.Partial) {
    ctx.warn(`run ${finished.id} ended partial: ${finished.counters.fileErrors} file(s) could not be read (listed above); the snapshot was published without them`);
    ctx.exitCode = ExitCode.Partial;
  } else if (code !== ExitCode.Ok) {
    throw new CliError(`${finished.kind} run ${finished.id} ${finished.status}${finished.error !== null ? `: ${finished.error}` : ''}`, code);
  }
}
