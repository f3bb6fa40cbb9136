import { type Command } from 'commander';
import { type CliContext } from '../context';
import { formatHostCreated, formatHostTable } from '../output/host-format';
import { buildCreateHostRequest, type HostAddOptions } from './host-requests';
import { registerCredentialCommands } from './credentials.command';
import { collect, type JsonOption } from './options';

export function registerHostCommands(program: Command, ctx: CliContext): void {
  const host = program.command('host').description('manage hosts (see also `berth hosts`)');
  host
    .command('add')
    .description('register a host to back up; prints the one-time enrollment secret for its agent')
    .argument('<name>', 'host name, unique in the fleet')
    .option('--path <dir>', 'absolute directory on the client to back up (repeatable)', collect, [])
    .option('--exclude <glob>', 'exclude pattern (repeatable; see README "Exclude patterns")', collect, [])
    .option('--group <group>', 'join this group (its paths apply when no --path is given)')
    .option('--json', 'print the API response (includes the enrollment secret)')
    .action(async (name: string, options: HostAddOptions & JsonOption, command: Command) => {
      const request = buildCreateHostRequest(name, options);
      const api = ctx.api(command);
      const created = await api.createHost(request);
      if (options.json === true) ctx.printJson(created);
      else ctx.print(formatHostCreated(created, api.baseUrl));
    });

  registerCredentialCommands(host, ctx);

  program
    .command('hosts')
    .description('list hosts')
    .option('--json', 'print the API objects')
    .action(async (options: JsonOption, command: Command) => {
      const hosts = await ctx.api(command).listHosts();
      if (options.json === true) ctx.printJson(hosts);
      else ctx.print(formatHostTable(hosts));
    });
}
