import { type Command } from 'commander';
import { ApiRequestError } from '../api/api-errors';
import { type CliContext } from '../context';
import { CliError } from '../errors/cli-error';
import { cancelAnnouncement, formatRunDetail } from '../output/run-format';
import { type JsonOption } from './options';
import { waitForRun } from './wait-for-run';

export function registerCancelCommand(program: Command, ctx: CliContext): void {
  program
    .command('cancel')
    .description('cancel a queued or running run; its agent stops within seconds, and what was stored stays for `berth retry`')
    .argument('<run>', 'run id (see `berth runs`)')
    .option('--wait', 'wait until the run has stopped (progress on stderr); exit code 0 once it is canceled')
    .option('--json', 'print the run as the API returns it')
    .action(async (id: string, options: JsonOption & { wait?: boolean }, command: Command) => {
      const api = ctx.api(command);
      let run;
      try {
        run = await api.cancelRun(id);
      } catch (error) {
        if (error instanceof ApiRequestError && error.body.code === 'run_not_found') throw new CliError(`no run with id ${id}; list runs with \`berth runs\``);
        if (error instanceof ApiRequestError && error.body.code === 'run_not_cancelable') throw new CliError(`${error.body.message}`);
        throw error;
      }
      if (options.wait === true && run.status !== 'canceled') {
        if (options.json !== true) ctx.stderr.write(`${cancelAnnouncement(run)}\n`);
        run = await waitForRun(api, run.id, { progress: ctx.stderr, quiet: options.json === true && ctx.stderr.isTTY !== true });
        if (options.json === true) ctx.printJson(run);
        else ctx.print(formatRunDetail(run));
        // The run may have ended otherwise meanwhile (succeeded just before the agent heard of the cancel).
        if (run.status !== 'canceled') throw new CliError(`${run.kind} run ${run.id} ended ${run.status} before it could be canceled`);
        return;
      }
      if (options.json === true) ctx.printJson(run);
      else ctx.print(`${cancelAnnouncement(run)}\n`);
    });
}
