import { type FileErrorPage } from '@berth/contracts';
import { renderTable } from '../output/table';
import { type Command } from 'commander';
import { ApiRequestError } from '../api/api-errors';
import { type CliContext } from '../context';
import { CliError } from '../errors/cli-error';
import { formatRunDetail, formatRunTable } from '../output/run-format';
import { type JsonOption } from './options';
import { resolveHost } from './resolve-host';

export function registerRunCommands(program: Command, ctx: CliContext): void {
  program
    .command('runs')
    .description('list backup and restore runs, newest first (the latest 50)')
    .argument('[host]', 'only the runs of this host (name or id)')
    .option('--json', 'print the API objects')
    .action(async (hostRef: string | undefined, options: JsonOption, command: Command) => {
      const api = ctx.api(command);
      const host = hostRef === undefined ? undefined : await resolveHost(api, hostRef);
      const runs = await api.listRuns(host === undefined ? {} : { hostId: host.id });
      if (options.json === true) ctx.printJson(runs);
      else ctx.print(formatRunTable(runs));
    });

  program
    .command('run')
    .description('show one run: status, counters, checkpoint, file errors')
    .argument('<id>', 'run id')
    .option('--errors', 'print every file error the run kept (the run shows the first 100), page by page')
    .option('--json', 'print the API object (with --errors: the list of file errors)')
    .action(async (id: string, options: JsonOption & { errors?: boolean }, command: Command) => {
      const api = ctx.api(command);
      let run;
      try {
        run = await api.getRun(id);
      } catch (error) {
        if (error instanceof ApiRequestError && error.body.code === 'run_not_found') throw new CliError(`no run with id ${id}; list runs with \`berth runs\``);
        throw error;
      }
      if (options.errors === true) {
        const errors: FileErrorPage['errors'] = [];
        let after: string | undefined;
        do {
          const page = await api.runFileErrors(run.id, after);
          errors.push(...page.errors);
          after = page.nextAfter ?? undefined;
        } while (after !== undefined);
        if (options.json === true) ctx.printJson(errors);
        else ctx.print(errors.length === 0 ? 'no file errors\n' : renderTable(errors, [{ header: 'PATH', value: (e) => e.path }, { header: 'ERROR', value: (e) => e.message }]));
        return;
      }
      if (options.json === true) ctx.printJson(run);
      else ctx.print(formatRunDetail(run));
    });
}
