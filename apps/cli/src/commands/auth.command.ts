import { API_ROLES, type ApiRole, type AuditEventResponse, type TokenResponse } from '@berth/contracts';
import { type Command, Option } from 'commander';
import { ApiClient, normalizeBaseUrl } from '../api/api-client';
import { ApiRequestError } from '../api/api-errors';
import { type CliContext } from '../context';
import { CliError, UsageError } from '../errors/cli-error';
import { renderTable } from '../output/table';
import { formatTimestamp } from '../output/units';
import { type JsonOption, wholeNumber } from './options';

/** Reads the token from stdin (one line): never from the command line, where `ps` and shell history would keep it. */
async function readTokenFromStdin(ctx: CliContext): Promise<string> {
  if (process.stdin.isTTY) ctx.stderr.write('API token: ');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) {
    chunks.push(chunk as Buffer);
    if (Buffer.concat(chunks).includes(0x0a)) break;
  }
  const token = Buffer.concat(chunks).toString('utf8').split('\n')[0]?.trim() ?? '';
  if (token === '') throw new UsageError('no token on stdin: pipe it in (e.g. `berth login < token.txt`) or type it at the prompt');
  return token;
}



export function formatTokens(tokens: readonly TokenResponse[]): string {
  if (tokens.length === 0) return 'no API tokens\n';
  return renderTable(tokens, [
    { header: 'ID', value: (t) => t.id },
    { header: 'NAME', value: (t) => t.name },
    { header: 'ROLE', value: (t) => t.role },
    { header: 'PREFIX', value: (t) => `${t.prefix}...` },
    { header: 'CREATED', value: (t) => formatTimestamp(t.createdAt) },
    { header: 'LAST USED', value: (t) => formatTimestamp(t.lastUsedAt) },
    { header: 'STATE', value: (t) => (t.revokedAt !== null ? `revoked ${formatTimestamp(t.revokedAt)}` : t.expiresAt !== null ? `expires ${formatTimestamp(t.expiresAt)}` : 'active') },
  ]);
}

export function formatAudit(events: readonly AuditEventResponse[]): string {
  if (events.length === 0) return 'no audit events\n';
  return renderTable(events, [
    { header: 'WHEN', value: (e) => formatTimestamp(e.at) },
    { header: 'WHO', value: (e) => (e.role === null ? e.actor : `${e.actor} (${e.role})`) },
    { header: 'ACTION', value: (e) => e.action },
    { header: 'CALL', value: (e) => `${e.method} ${e.path}` },
    { header: 'STATUS', value: (e) => String(e.statusCode) },
  ]);
}

export function registerAuthCommands(program: Command, ctx: CliContext): void {
  program
    .command('login')
    .description('store an API token for this controller (read from stdin), after checking it with the controller')
    .action(async (_options: unknown, command: Command) => {
      const store = ctx.credentials();
      if (store === null) throw new CliError('no place to store the token: set HOME, XDG_CONFIG_HOME or BERTH_CREDENTIALS_FILE, or pass the token in BERTH_TOKEN');
      const url = normalizeBaseUrl(ctx.controllerUrl(command));
      const token = await readTokenFromStdin(ctx);
      let me;
      try {
        me = await new ApiClient(url, { token }).whoAmI();
      } catch (error) {
        if (error instanceof ApiRequestError && error.body.statusCode === 401) throw new CliError(`the controller at ${url} refused the token: ${error.body.message}`);
        throw error;
      }
      store.save(url, { token, name: me.name, role: me.role });
      ctx.print(`logged in to ${url} as "${me.name}" (${me.role}); the token is stored in ${store.file}\n`);
    });

  program
    .command('logout')
    .description('forget the token stored for this controller')
    .action((_options: unknown, command: Command) => {
      const url = normalizeBaseUrl(ctx.controllerUrl(command));
      const removed = ctx.credentials()?.remove(url) ?? false;
      ctx.print(removed ? `logged out of ${url}\n` : `no token was stored for ${url}\n`);
    });

  program
    .command('whoami')
    .description('the name and role of the token in use, as the controller sees it')
    .option('--json', 'print the API object (GET /auth/whoami)')
    .action(async (options: JsonOption, command: Command) => {
      const me = await ctx.api(command).whoAmI();
      if (options.json === true) ctx.printJson(me);
      else ctx.print(`"${me.name}" (${me.role}) at ${normalizeBaseUrl(ctx.controllerUrl(command))}\n`);
    });

  const token = program.command('token').description('API tokens (admin): create, list, revoke');
  token
    .command('create')
    .description('create an API token; it is printed once, store it now')
    .argument('<name>', 'who or what uses it, e.g. alice or prometheus')
    .addOption(new Option('--role <role>', 'what it may do').choices([...API_ROLES]).makeOptionMandatory())
    .option('--expires-days <days>', 'stop working after this many days (default: until revoked)', wholeNumber(1, 3650, 'days'))
    .option('--json', 'print the API object, token included')
    .action(async (name: string, options: JsonOption & { role: ApiRole; expiresDays?: number }, command: Command) => {
      const created = await ctx.api(command).createToken({ name, role: options.role, ...(options.expiresDays !== undefined ? { expiresInDays: options.expiresDays } : {}) });
      if (options.json === true) ctx.printJson(created);
      else ctx.print(`created ${created.role} token "${created.name}" (${created.id})${created.expiresAt === null ? '' : `, expires ${formatTimestamp(created.expiresAt)}`}\n${created.token}\nshown only now: store it (e.g. \`berth login\` on the machine that uses it)\n`);
    });
  token
    .command('list')
    .description('every API token (never the tokens themselves)')
    .option('--json', 'print the API objects')
    .action(async (options: JsonOption, command: Command) => {
      const tokens = await ctx.api(command).listTokens();
      if (options.json === true) ctx.printJson(tokens);
      else ctx.print(formatTokens(tokens));
    });
  token
    .command('revoke')
    .description('revoke an API token: its next call is refused')
    .argument('<id>', 'token id (see `berth token list`)')
    .option('--json', 'print the API object')
    .action(async (id: string, options: JsonOption, command: Command) => {
      let revoked;
      try {
        revoked = await ctx.api(command).revokeToken(id);
      } catch (error) {
        if (error instanceof ApiRequestError && error.body.code === 'token_not_found') throw new CliError(`no API token with id ${id}; list tokens with \`berth token list\``);
        throw error;
      }
      if (options.json === true) ctx.printJson(revoked);
      else ctx.print(`revoked token "${revoked.name}" (${revoked.id})\n`);
    });

  program
    .command('audit')
    .description('state-changing API calls, newest first: who, what, when (admin)')
    .option('--actor <name>', 'calls made with the token of this name')
    .option('--action <action>', 'an action or its prefix, e.g. host. or token.create')
    .option('--target <target>', 'calls that named this host, run or token')
    .option('--since <time>', 'ISO 8601 date-time')
    .option('--limit <n>', 'how many events (1 to 1000, default 100)', wholeNumber(1, 1000))
    .option('--json', 'print the API object (GET /audit)')
    .action(async (options: JsonOption & { actor?: string; action?: string; target?: string; since?: string; limit?: number }, command: Command) => {
      const page = await ctx.api(command).audit({ actor: options.actor, action: options.action, target: options.target, since: options.since, limit: options.limit });
      if (options.json === true) ctx.printJson(page);
      else ctx.print(formatAudit(page.events));
    });
}
