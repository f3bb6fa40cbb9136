import { type GroupResponse, type HostResponse } from '@berth/contracts';
import { type ControllerHandle } from '@berth/harness';
import { type CliController, startCliController } from './cli-controller';
import { runBerth } from './run-berth';

// The built CLI against the built controller process: groups, schedules, pausing and forced backups.
describe('berth group, schedule, pause and host set', () => {
  let stack: CliController | undefined;
  let controller: ControllerHandle;

  beforeAll(async () => {
    stack = await startCliController('schedule');
    ({ controller } = stack);
  }, 60_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it('creates a group with a schedule, a host in it, pauses the group, and backs up only with --force', async () => {
    expect((await runBerth(['group', 'add', 'cli-web', '--path', '/srv/www', '--exclude', '*.tmp'], controller)).code).toBe(0);
    const added = await runBerth(['host', 'add', 'cli-web-1', '--group', 'cli-web'], controller);
    expect(added).toMatchObject({ code: 0, stderr: '' });

    const set = await runBerth(['schedule', 'set', '--group', 'cli-web', '--cron', '0 2 * * *', '--tz', 'Europe/Berlin', '--window', '01:00-05:00', '--spread', '600'], controller);
    expect(set.code).toBe(0);
    expect(set.stdout).toContain('schedule:  0 2 * * * Europe/Berlin, window 01:00-05:00, spread 600 s, catch-up one');

    const groups = await runBerth(['groups'], controller);
    expect(groups.stdout).toMatch(/^cli-web\s+1\s+no\s+0 2 \* \* \* Europe\/Berlin/m);

    const own = await runBerth(['host', 'set', 'cli-web-1', '--path', '/etc', '--exclude', '*.log'], controller);
    expect(own.stdout).toContain('paths:     /etc\n');
    expect(own.stdout).toContain('excludes:  *.tmp *.log\n');
    expect(own.stdout).toContain('(from group cli-web)');

    const paused = await runBerth(['pause', '--group', 'cli-web'], controller);
    expect(paused).toMatchObject({ code: 0, stdout: 'Group cli-web paused: no scheduled backups until `berth unpause`.\n' });
    const refused = await runBerth(['backup', 'cli-web-1'], controller);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('is paused (its group is)');
    expect((await runBerth(['backup', 'cli-web-1', '--force', '--json'], controller)).code).toBe(0);

    expect((await runBerth(['unpause', '--group', 'cli-web'], controller)).code).toBe(0);
    const cleared = await runBerth(['schedule', 'clear', '--group', 'cli-web', '--json'], controller);
    expect((JSON.parse(cleared.stdout) as GroupResponse).schedule).toBeNull();
    const host = JSON.parse((await runBerth(['host', 'set', 'cli-web-1', '--no-group', '--json'], controller)).stdout) as HostResponse;
    expect(host).toMatchObject({ group: null, effective: { paths: ['/etc'], excludes: ['*.log'], schedule: null, paused: false } });
  }, 60_000);
});
