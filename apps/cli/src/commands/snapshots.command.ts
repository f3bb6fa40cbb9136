import { type Command } from 'commander';
import { type CliContext } from '../context';
import { formatSnapshotTable } from '../output/snapshot-format';
import { type JsonOption } from './options';
import { resolveHost } from './resolve-host';

export function registerSnapshotCommands(program: Command, ctx: CliContext): void {
  program
    .command('snapshots')
    .description("list a host's published snapshots")
    .argument('<host>', 'host name or id')
    .option('--json', 'print the API objects')
    .action(async (hostRef: string, options: JsonOption, command: Command) => {
      const api = ctx.api(command);
      const host = await resolveHost(api, hostRef);
      const snapshots = await api.listSnapshots(host.id);
      if (options.json === true) ctx.printJson(snapshots);
      else ctx.print(formatSnapshotTable(snapshots, host.name));
    });
}
