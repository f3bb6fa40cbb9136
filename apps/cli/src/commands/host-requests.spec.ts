import { UsageError } from '../errors/cli-error';
import { buildCreateHostRequest, buildRestoreRequest } from './host-requests';

describe('request builders', () => {
  it('builds POST /hosts from NAME, repeated --path and --exclude', () => {
    expect(buildCreateHostRequest('web-1', { path: ['/srv/www', '/etc'], exclude: ['*.tmp', '/srv/www/cache'] })).toEqual({
      name: 'web-1',
      paths: ['/srv/www', '/etc'],
      excludes: ['*.tmp', '/srv/www/cache'],
    });
  });

  it('refuses a host without paths, or with a relative one, naming the option', () => {
    expect(() => buildCreateHostRequest('web-1', { path: [], exclude: [] })).toThrow(new UsageError('give at least one --path DIR to back up (or --group G to use the group paths)'));
    expect(buildCreateHostRequest('web-2', { path: [], exclude: [], group: 'web' })).toEqual({ name: 'web-2', excludes: [], group: 'web' });
    expect(() => buildCreateHostRequest('web-1', { path: ['srv/www'], exclude: [] })).toThrow(/--path must be an absolute path .*got "srv\/www"/);
    expect(() => buildCreateHostRequest('web-1', { path: ['/srv'], exclude: [''] })).toThrow(/--exclude needs a non-empty pattern/);
  });

  it('builds POST /snapshots/:id/restore with optional host and sub-path', () => {
    expect(buildRestoreRequest({ to: '/var/tmp/r' }, undefined)).toEqual({ targetDir: '/var/tmp/r' });
    expect(buildRestoreRequest({ to: '/var/tmp/r', path: '/srv/www/img' }, 'host-id')).toEqual({ targetDir: '/var/tmp/r', targetHost: 'host-id', subPath: '/srv/www/img' });
    expect(() => buildRestoreRequest({ to: 'restore' }, undefined)).toThrow(/--to must be an absolute path/);
    expect(() => buildRestoreRequest({ to: '/r', path: 'srv' }, undefined)).toThrow(/--path must be an absolute path/);
  });
});
