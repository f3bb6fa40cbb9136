import { type Command } from 'commander';
import { type CliContext } from '../context';
import { UsageError } from '../errors/cli-error';
import { formatGroupSettings, formatGroupTable, formatHostSettings } from '../output/schedule-format';
import { collect, type JsonOption } from './options';
import { buildCreateGroupRequest, buildScheduleRequest, buildUpdateHostRequest, type HostSetOptions, type ScheduleSetOptions } from './schedule-requests';

interface GroupOption {
  group?: string;
}

/** HOST or --group G (exactly one): what pause, unpause and schedule act on. */
export function pauseTarget(host: string | undefined, options: GroupOption): { kind: 'hosts' | 'groups'; idOrName: string } {
  if (host !== undefined && options.group !== undefined) throw new UsageError('give a HOST or --group G, not both');
  if (options.group !== undefined) return { kind: 'groups', idOrName: options.group };
  if (host !== undefined) return { kind: 'hosts', idOrName: host };
  throw new UsageError('give a HOST, or --group G for every host of a group');
}

/** `berth pause|unpause`, `berth schedule set|clear`, `berth group add`, `berth groups`, `berth host set`. */
export function registerScheduleCommands(program: Command, ctx: CliContext): void {
  for (const paused of [true, false]) {
    program
      .command(paused ? 'pause' : 'unpause')
      .description(paused ? 'stop scheduled backups of a host or of every host of a group (manual backups need --force)' : 'let scheduled backups run again')
      .argument('[host]', 'host name or id')
      .option('--group <group>', 'the group instead of one host')
      .option('--json', 'print the API object')
      .action(async (host: string | undefined, options: GroupOption & JsonOption, command: Command) => {
        const target = pauseTarget(host, options);
        const api = ctx.api(command);
        const result = target.kind === 'hosts' ? await api.setPaused('hosts', target.idOrName, paused) : await api.setPaused('groups', target.idOrName, paused);
        if (options.json === true) ctx.printJson(result);
        else ctx.print(`${target.kind === 'hosts' ? 'Host' : 'Group'} ${result.name} ${paused ? 'paused: no scheduled backups until `berth unpause`' : 'unpaused: scheduled backups run again'}.\n`);
      });
  }

  const schedule = program.command('schedule').description("set or clear a host's or a group's backup schedule");
  schedule
    .command('set')
    .description('set the schedule (replaces the previous one); a host schedule overrides its group schedule')
    .argument('[host]', 'host name or id')
    .option('--group <group>', 'the group instead of one host')
    .option('--cron <expr>', 'cron expression: 5 fields, or 6 with seconds first, e.g. "0 2 * * *"')
    .option('--tz <zone>', 'IANA time zone of the expression and the window, e.g. Europe/Berlin')
    .option('--window <HH:MM-HH:MM>', 'backup window: no run starts outside it (may wrap midnight)')
    .option('--spread <seconds>', 'start the hosts spread over this many seconds, each at a stable offset')
    .option('--catch-up <policy>', 'one (default): one run at controller start when an occurrence was missed; none')
    .option('--json', 'print the API object')
    .action(async (host: string | undefined, options: GroupOption & ScheduleSetOptions & JsonOption, command: Command) => {
      const target = pauseTarget(host, options);
      const request = { schedule: buildScheduleRequest(options) };
      await printUpdated(ctx, command, target, request, options);
    });
  schedule
    .command('clear')
    .description('remove the schedule (a host then follows its group schedule, if any)')
    .argument('[host]', 'host name or id')
    .option('--group <group>', 'the group instead of one host')
    .option('--json', 'print the API object')
    .action(async (host: string | undefined, options: GroupOption & JsonOption, command: Command) => {
      await printUpdated(ctx, command, pauseTarget(host, options), { schedule: null }, options);
    });

  const group = program.command('group').description('manage host groups (see also `berth groups`)');
  group
    .command('add')
    .description('create a group: its paths, excludes and schedule apply to its hosts that have none of their own')
    .argument('<name>', 'group name, unique')
    .option('--path <dir>', 'absolute directory to back up on each host (repeatable)', collect, [])
    .option('--exclude <glob>', 'exclude pattern, added to each host excludes (repeatable)', collect, [])
    .option('--json', 'print the API object')
    .action(async (name: string, options: { path: string[]; exclude: string[] } & JsonOption, command: Command) => {
      const created = await ctx.api(command).createGroup(buildCreateGroupRequest(name, options));
      if (options.json === true) ctx.printJson(created);
      else ctx.print(formatGroupSettings(created));
    });

  program
    .command('groups')
    .description('list host groups')
    .option('--json', 'print the API objects')
    .action(async (options: JsonOption, command: Command) => {
      const groups = await ctx.api(command).listGroups();
      if (options.json === true) ctx.printJson(groups);
      else ctx.print(formatGroupTable(groups));
    });

  const host = program.commands.find((existing) => existing.name() === 'host') ?? program.command('host').description('manage hosts');
  host
    .command('set')
    .description("change a host's group, paths or excludes (only what is given changes)")
    .argument('<host>', 'host name or id')
    .option('--group <group>', 'put the host in this group')
    .option('--no-group', 'take the host out of its group')
    .option('--path <dir>', 'replace the host paths (repeatable)', collect, [])
    .option('--exclude <glob>', 'replace the host excludes (repeatable)', collect, [])
    .option('--json', 'print the API object')
    .action(async (hostRef: string, options: HostSetOptions & JsonOption, command: Command) => {
      const updated = await ctx.api(command).updateHost(hostRef, buildUpdateHostRequest(options));
      if (options.json === true) ctx.printJson(updated);
      else ctx.print(formatHostSettings(updated));
    });
}

async function printUpdated(
  ctx: CliContext,
  command: Command,
  target: { kind: 'hosts' | 'groups'; idOrName: string },
  request: { schedule: ReturnType<typeof buildScheduleRequest> | null },
  options: JsonOption,
): Promise<void> {
  const api = ctx.api(command);
  if (target.kind === 'hosts') {
    const updated = await api.updateHost(target.idOrName, request);
    if (options.json === true) ctx.printJson(updated);
    else ctx.print(formatHostSettings(updated));
  } else {
    const updated = await api.updateGroup(target.idOrName, request);
    if (options.json === true) ctx.printJson(updated);
    else ctx.print(formatGroupSettings(updated));
  }
}
