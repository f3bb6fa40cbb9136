import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type AgentCredentialResponse, type HostResponse } from '@berth/contracts';
import { type Fleet, startFleet } from '@berth/harness';
import { createTestDatabase, type TestDatabase } from '@berth/local-stack';
import { runBerth } from './run-berth';

// `berth host credentials | revoke | reenroll` with the built CLI against real controller, receiver and agent.
describe('berth host credentials, revoke, reenroll', () => {
  let work: string;
  let database: TestDatabase;
  let fleet: Fleet;

  beforeAll(async () => {
    work = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-cli-cred-'));
    database = await createTestDatabase();
    fleet = await startFleet({
      workDir: path.join(work, 'fleet'),
      stack: { databaseUrl: process.env['DATABASE_URL'] ?? '', redisUrl: process.env['REDIS_URL'] ?? '' },
      migratedDatabaseUrl: database.url,
    });
  }, 120_000);

  afterAll(async () => {
    await fleet?.stop();
    await database?.drop();
    await fs.rm(work, { recursive: true, force: true });
  });

  it('lists the credential, revokes it (the agent stops), and lets the agent in again with a new secret', async () => {
    const { agent } = await fleet.addHostWithAgent({ name: 'cli-cred', paths: [work] });

    const listed = await runBerth(['host', 'credentials', 'cli-cred', '--json'], fleet.controller);
    expect(listed.code).toBe(0);
    const [credential] = JSON.parse(listed.stdout) as AgentCredentialResponse[];
    expect(credential?.revokedAt).toBeNull();
    const table = await runBerth(['host', 'credentials', 'cli-cred'], fleet.controller);
    expect(table.stdout).toMatch(new RegExp(`^${credential?.id ?? '-'}\\s+\\S+ \\S+\\s+\\S+.*\\s+no$`, 'm'));

    const revoked = await runBerth(['host', 'revoke', 'cli-cred'], fleet.controller);
    expect(revoked.stderr).toBe('');
    expect(revoked.stdout).toContain(`Revoked 1 credential(s) of host cli-cred: ${credential?.id ?? '-'}`);
    expect(revoked.stdout).toContain('berth host reenroll cli-cred');
    // Shut out of Redis and the controller, the agent stops and says why.
    expect(await agent.process.exited).toMatchObject({ code: 1 });
    expect(await agent.logs()).toMatch(/credential .*revoked.*enroll again/);
    expect((await runBerth(['host', 'revoke', 'cli-cred'], fleet.controller)).stdout).toContain('nothing changed');

    const reenroll = await runBerth(['host', 'reenroll', 'cli-cred'], fleet.controller);
    expect(reenroll.code).toBe(0);
    const secret = /enrollment secret:\s+(\S+)/.exec(reenroll.stdout)?.[1] ?? '';
    expect(reenroll.stdout).toContain(`berth agent --controller ${fleet.controller.url} --enroll-secret ${secret}`);
    await fleet.startAgent('cli-cred', secret);
    // The agent's log (appended to) held "waiting for jobs" already: wait for the new enrollment itself.
    const enrolled = async (): Promise<boolean> => (JSON.parse((await runBerth(['hosts', '--json'], fleet.controller)).stdout) as HostResponse[])[0]?.enrolled === true;
    const deadline = Date.now() + 30_000;
    while (!(await enrolled()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 250));
    expect(await enrolled()).toBe(true);
    const after = JSON.parse((await runBerth(['host', 'credentials', 'cli-cred', '--json'], fleet.controller)).stdout) as AgentCredentialResponse[];
    expect(after.map((c) => c.revokedAt === null)).toEqual([false, true]);

    const unknown = await runBerth(['host', 'revoke', 'no-such-host'], fleet.controller);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('no host named no-such-host');
  }, 90_000);
});
