import { type Command } from 'commander';
import { type CliContext } from '../context';
import { type JsonOption } from './options';
import { resolveHost } from './resolve-host';
import { reportStartedRun } from './run-outcome';

export function registerBackupCommand(program: Command, ctx: CliContext): void {
  program
    .command('backup')
    .description('start a backup of a host now')
    .argument('<host>', 'host name or id')
    .option('--wait', 'follow the run to its end (progress on stderr); exit code reflects the outcome')
    .option('--force', 'back up a paused host anyway')
    .option('--json', 'print the run as the API returns it')
    .action(async (hostRef: string, options: JsonOption & { wait?: boolean; force?: boolean }, command: Command) => {
      const api = ctx.api(command);
      const host = await resolveHost(api, hostRef);
      const run = await api.startBackup(host.id, options.force === true);
      await reportStartedRun(ctx, command, run, options);
    });
}
