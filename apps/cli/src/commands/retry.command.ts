import { type Command } from 'commander';
import { ApiRequestError } from '../api/api-errors';
import { type CliContext } from '../context';
import { CliError } from '../errors/cli-error';
import { retryAnnouncement } from '../output/run-format';
import { type JsonOption } from './options';
import { reportStartedRun } from './run-outcome';

export function registerRetryCommand(program: Command, ctx: CliContext): void {
  program
    .command('retry')
    .description('queue a failed or canceled run again; its next attempt resumes after the last committed directory')
    .argument('<run>', 'run id (see `berth runs`)')
    .option('--wait', 'follow the run to its end (progress on stderr); exit code reflects the outcome')
    .option('--json', 'print the run as the API returns it')
    .action(async (id: string, options: JsonOption & { wait?: boolean }, command: Command) => {
      let run;
      try {
        run = await ctx.api(command).retryRun(id);
      } catch (error) {
        if (error instanceof ApiRequestError && error.body.code === 'run_not_found') throw new CliError(`no run with id ${id}; list runs with \`berth runs\``);
        throw error;
      }
      await reportStartedRun(ctx, command, run, options, retryAnnouncement(run));
    });
}
