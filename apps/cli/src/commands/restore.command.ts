import { type Command } from 'commander';
import { ApiRequestError } from '../api/api-errors';
import { type CliContext } from '../context';
import { CliError } from '../errors/cli-error';
import { buildRestoreRequest, type RestoreOptions } from './host-requests';
import { type JsonOption } from './options';
import { resolveHost } from './resolve-host';
import { reportStartedRun } from './run-outcome';

export function registerRestoreCommand(program: Command, ctx: CliContext): void {
  program
    .command('restore')
    .description("restore a snapshot (or part of it) into a directory, through a host's agent")
    .argument('<snapshot>', 'snapshot id (see `berth snapshots HOST`)')
    .requiredOption('--to <dir>', 'absolute target directory on the restoring host')
    .option('--host <host>', "host whose agent writes the files (default: the snapshot's own host)")
    .option('--path <subpath>', 'restore only this absolute path inside the snapshot')
    .option('--wait', 'follow the run to its end (progress on stderr); exit code reflects the outcome')
    .option('--json', 'print the run as the API returns it')
    .action(async (snapshotId: string, options: RestoreOptions & JsonOption & { wait?: boolean }, command: Command) => {
      buildRestoreRequest(options, undefined); // check the paths before any request
      const api = ctx.api(command);
      const target = options.host === undefined ? undefined : await resolveHost(api, options.host);
      let run;
      try {
        run = await api.restoreSnapshot(snapshotId, buildRestoreRequest(options, target?.id));
      } catch (error) {
        if (error instanceof ApiRequestError && error.body.code === 'snapshot_not_found') {
          throw new CliError(`no snapshot with id ${snapshotId}; list them with \`berth snapshots HOST\``);
        }
        throw error;
      }
      await reportStartedRun(ctx, command, run, options);
    });
}
