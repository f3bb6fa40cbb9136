import { runCli } from '../cli';
import { UsageError } from '../errors/cli-error';
import { pauseTarget } from './schedule.command';
import { buildCreateGroupRequest, buildScheduleRequest, buildUpdateHostRequest } from './schedule-requests';

async function usage(argv: string[]): Promise<{ code: number; err: string }> {
  let err = '';
  const code = await runCli(argv, { stdout: { write: () => true }, stderr: { write: (text: string) => (err += text) } }, { controllerUrl: 'http://127.0.0.1:9', token: null });
  return { code, err };
}

describe('schedule, pause, group and host set requests', () => {
  it('builds a schedule from --cron, --tz, --window, --spread and --catch-up', () => {
    expect(buildScheduleRequest({ cron: '0 2 * * *', tz: 'Europe/Berlin' })).toEqual({ cron: '0 2 * * *', timeZone: 'Europe/Berlin' });
    expect(buildScheduleRequest({ cron: ' */5 * * * * * ', tz: 'UTC', window: '23:00-05:00', spread: '600', catchUp: 'none' })).toEqual({
      cron: '*/5 * * * * *',
      timeZone: 'UTC',
      window: '23:00-05:00',
      spreadSeconds: 600,
      catchUp: 'none',
    });
  });

  it('refuses schedules the command line can already tell are wrong, naming the option', () => {
    expect(() => buildScheduleRequest({ tz: 'UTC' })).toThrow(/^give --cron EXPR/);
    expect(() => buildScheduleRequest({ cron: '0 2 * * *' })).toThrow(/^give --tz ZONE/);
    expect(() => buildScheduleRequest({ cron: '0 2 * * *', tz: 'UTC', window: '1:00-5:00' })).toThrow('--window must be HH:MM-HH:MM, e.g. 01:00-05:00; got "1:00-5:00"');
    expect(() => buildScheduleRequest({ cron: '0 2 * * *', tz: 'UTC', spread: '10m' })).toThrow('--spread must be whole seconds from 0 to 86400; got "10m"');
    expect(() => buildScheduleRequest({ cron: '0 2 * * *', tz: 'UTC', catchUp: 'all' })).toThrow('--catch-up must be one or none; got "all"');
  });

  it('targets a host or a group, never both or neither', () => {
    expect(pauseTarget('web-1', {})).toEqual({ kind: 'hosts', idOrName: 'web-1' });
    expect(pauseTarget(undefined, { group: 'web' })).toEqual({ kind: 'groups', idOrName: 'web' });
    expect(() => pauseTarget('web-1', { group: 'web' })).toThrow(new UsageError('give a HOST or --group G, not both'));
    expect(() => pauseTarget(undefined, {})).toThrow(/^give a HOST, or --group G/);
  });

  it('builds host set and group add requests with only what is given', () => {
    expect(buildUpdateHostRequest({ group: 'web', path: [], exclude: [] })).toEqual({ group: 'web' });
    expect(buildUpdateHostRequest({ group: false, path: ['/etc'], exclude: ['*.log'] })).toEqual({ group: null, paths: ['/etc'], excludes: ['*.log'] });
    expect(() => buildUpdateHostRequest({ path: [], exclude: [] })).toThrow(/^nothing to change/);
    expect(() => buildUpdateHostRequest({ path: ['etc'], exclude: [] })).toThrow(/--path must be an absolute path/);
    expect(buildCreateGroupRequest('web', { path: ['/srv/www'], exclude: ['*.tmp'] })).toEqual({ name: 'web', paths: ['/srv/www'], excludes: ['*.tmp'] });
  });

  it('exits 2 before calling the controller on a bad command line', async () => {
    expect(await usage(['pause'])).toEqual({ code: 2, err: expect.stringContaining('give a HOST, or --group G') as string });
    expect(await usage(['schedule', 'set', 'web-1', '--cron', '0 2 * * *'])).toEqual({ code: 2, err: expect.stringContaining('give --tz ZONE') as string });
    expect(await usage(['host', 'set', 'web-1'])).toEqual({ code: 2, err: expect.stringContaining('nothing to change') as string });
  });
});
