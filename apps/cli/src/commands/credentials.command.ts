import { type Command } from 'commander';
import { type ApiClient } from '../api/api-client';
import { type CliContext } from '../context';
import { formatCredentialTable, formatEnrollmentSecret, formatRevoked } from '../output/credential-format';
import { type JsonOption } from './options';
import { isHostNotFound, unknownHost } from './resolve-host';

/** `berth host credentials|revoke|reenroll`: a host's agent credentials (admin tokens only). */
export function registerCredentialCommands(host: Command, ctx: CliContext): void {
  host
    .command('credentials')
    .description("list a host's agent credentials (never their secrets)")
    .argument('<host>', 'host name or id')
    .option('--json', 'print the API objects')
    .action(async (ref: string, options: JsonOption, command: Command) => {
      const credentials = await forHost(ref, (api) => api.listCredentials(ref), ctx.api(command));
      if (options.json === true) ctx.printJson(credentials);
      else ctx.print(formatCredentialTable(ref, credentials));
    });

  host
    .command('revoke')
    .description("revoke a host's agent credentials: its agent is shut out of the controller, the receiver and Redis at once, its running run fails")
    .argument('<host>', 'host name or id')
    .option('--credential <id>', 'revoke only this credential (see `berth host credentials`)')
    .option('--json', 'print the API response')
    .action(async (ref: string, options: JsonOption & { credential?: string }, command: Command) => {
      const result = await forHost(ref, (api) => api.revokeCredentials(ref, options.credential), ctx.api(command));
      if (options.json === true) ctx.printJson(result);
      else ctx.print(formatRevoked(ref, result));
    });

  host
    .command('reenroll')
    .description('print a new one-time enrollment secret for the host, and the agent command that uses it')
    .argument('<host>', 'host name or id')
    .option('--json', 'print the API response (includes the secret)')
    .action(async (ref: string, options: JsonOption, command: Command) => {
      const api = ctx.api(command);
      const created = await forHost(ref, (client) => client.newEnrollmentSecret(ref), api);
      if (options.json === true) ctx.printJson(created);
      else ctx.print(formatEnrollmentSecret(created, api.baseUrl));
    });
}

/** A call on a host, with the CLI's own "no such host" message. */
async function forHost<T>(ref: string, call: (api: ApiClient) => Promise<T>, api: ApiClient): Promise<T> {
  try {
    return await call(api);
  } catch (error) {
    if (isHostNotFound(error)) throw unknownHost(ref);
    throw error;
  }
}
