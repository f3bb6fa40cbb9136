import { promises as fs } from 'node:fs';
import path from 'node:path';
import { type AuditPage, type CreateTokenResponse, type TokenResponse, type WhoAmIResponse } from '@berth/contracts';
import { type ControllerHandle } from '@berth/harness';
import { type CliController, startCliController } from './cli-controller';
import { runBerth } from './run-berth';

// The built CLI against the built controller process: tokens, login and the audit log as an operator uses them.
describe('berth login, token and audit', () => {
  let work: string;
  let stack: CliController | undefined;
  let controller: ControllerHandle;
  let credentialsFile: string;

  beforeAll(async () => {
    stack = await startCliController('auth');
    ({ work, controller } = stack);
    credentialsFile = path.join(work, 'config', 'berth', 'credentials.json');
  }, 60_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it('creates a token, logs in with it from stdin, uses it without BERTH_TOKEN or --controller, and sees it refused once revoked', async () => {
    const created = await runBerth(['token', 'create', 'alice', '--role', 'operator', '--json'], controller);
    expect(created).toMatchObject({ code: 0, stderr: '' });
    const token = JSON.parse(created.stdout) as CreateTokenResponse;
    expect(token).toMatchObject({ name: 'alice', role: 'operator', revokedAt: null });

    const asLoggedIn = { token: null, env: { BERTH_CREDENTIALS_FILE: credentialsFile } } as const;
    const login = await runBerth(['login'], controller, { ...asLoggedIn, input: `${token.token}\n` });
    expect(login).toMatchObject({ code: 0, stderr: '' });
    expect(login.stdout).toContain(`as "alice" (operator)`);
    expect((await fs.stat(credentialsFile)).mode & 0o777).toBe(0o600);
    expect(await fs.readFile(credentialsFile, 'utf8')).toContain(token.token);

    // Neither BERTH_TOKEN nor BERTH_CONTROLLER_URL: the login chose both.
    const whoami = await runBerth(['whoami', '--json'], controller, { ...asLoggedIn, controllerUrlInEnv: false });
    expect(whoami.code).toBe(0);
    expect(JSON.parse(whoami.stdout) as WhoAmIResponse).toMatchObject({ name: 'alice', role: 'operator' });
    expect(await runBerth(['hosts'], controller, asLoggedIn)).toMatchObject({ code: 0 });

    const forbidden = await runBerth(['token', 'list'], controller, asLoggedIn);
    expect(forbidden.code).toBe(1);
    expect(forbidden.stderr).toMatch(/needs the admin role; token "alice" has operator/);

    const list = await runBerth(['token', 'list', '--json'], controller);
    expect((JSON.parse(list.stdout) as TokenResponse[]).map((t) => t.name).sort()).toEqual(['alice', 'bootstrap']);
    expect(list.stdout).not.toContain(token.token);
    const table = await runBerth(['token', 'list'], controller);
    expect(table.stdout).toMatch(/alice\s+operator\s+bt_\S+\.\.\./);

    expect(await runBerth(['token', 'revoke', token.id], controller)).toMatchObject({ code: 0, stdout: `revoked token "alice" (${token.id})\n` });
    const refused = await runBerth(['hosts'], controller, asLoggedIn);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/API token "alice" was revoked/);
    expect(refused.stderr).toContain('berth login');

    expect(await runBerth(['logout'], controller, asLoggedIn)).toMatchObject({ code: 0 });
    expect(await fs.readFile(credentialsFile, 'utf8')).not.toContain(token.token);
  });

  it('refuses a wrong token at login and stores nothing', async () => {
    const file = path.join(work, 'other', 'credentials.json');
    const login = await runBerth(['login'], controller, { token: null, env: { BERTH_CREDENTIALS_FILE: file }, input: 'bt_wrong-token-0123456789abcdefghijkl\n' });
    expect(login.code).toBe(1);
    expect(login.stderr).toMatch(/refused the token: Unknown API token/);
    await expect(fs.stat(file)).rejects.toThrow(/ENOENT/);
  });

  it('shows the audit log of the calls above', async () => {
    const page = await runBerth(['audit', '--json', '--action', 'token.'], controller);
    expect(page.code).toBe(0);
    const actions = (JSON.parse(page.stdout) as AuditPage).events.map((event) => [event.action, event.actor, event.statusCode]);
    expect(actions).toEqual(expect.arrayContaining([['token.create', 'bootstrap', 201], ['token.revoke', 'bootstrap', 200]]));
    const table = await runBerth(['audit'], controller);
    expect(table.stdout).toMatch(/bootstrap \(admin\)\s+token\.revoke\s+DELETE \/tokens\/\S+\s+200/);
  });
});
