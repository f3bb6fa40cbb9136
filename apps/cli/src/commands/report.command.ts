import { type Command } from 'commander';
import { type CliContext } from '../context';
import { formatFleetReport, formatHostHistory } from '../output/report-format';
import { type JsonOption, wholeNumber } from './options';
import { resolveHost } from './resolve-host';

/** GET /hosts/:id/history accepts 1 to 500 runs. */
const HISTORY_LIMIT_MAX = 500;


export function registerReportCommand(program: Command, ctx: CliContext): void {
  program
    .command('report')
    .description('the fleet at a glance: per host its newest snapshot, its age against the recovery point objective, the last run; totals')
    .option('--json', 'print the API object (GET /reports/fleet)')
    .action(async (options: JsonOption, command: Command) => {
      const report = await ctx.api(command).reportFleet();
      if (options.json === true) ctx.printJson(report);
      else ctx.print(formatFleetReport(report));
    });

  program
    .command('history')
    .description("a host's backup runs over time, newest first: duration, files, bytes, bytes sent and stored")
    .argument('<host>', 'host name or id')
    .option('--limit <n>', `how many runs (1 to ${HISTORY_LIMIT_MAX}, default 50)`, wholeNumber(1, HISTORY_LIMIT_MAX))
    .option('--json', 'print the API object (GET /hosts/:idOrName/history)')
    .action(async (hostRef: string, options: JsonOption & { limit?: number }, command: Command) => {
      const api = ctx.api(command);
      const host = await resolveHost(api, hostRef);
      const history = await api.hostHistory(host.id, options.limit);
      if (options.json === true) ctx.printJson(history);
      else ctx.print(formatHostHistory(history));
    });
}
