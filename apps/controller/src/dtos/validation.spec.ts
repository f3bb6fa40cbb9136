import 'reflect-metadata';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { formatValidationErrors } from '../errors/validation-errors';
import { RunFinishDto } from './agent.dto';
import { CreateGroupDto } from './group.dto';
import { CreateHostDto, UpdateHostDto } from './host.dto';
import { RunQueryDto } from './run.dto';
import { RestoreDto } from './snapshot.dto';
import { hostNameProblem } from './validation';

/** What the global ValidationPipe does: transform, then validate with the same options. */
function check<T extends object>(type: new () => T, body: object): { value: T; details: string[] } {
  const value = plainToInstance(type, body);
  const errors = validateSync(value, { whitelist: true, forbidNonWhitelisted: true });
  return { value, details: formatValidationErrors(errors) };
}

describe('CreateHostDto', () => {
  it('accepts a host and normalizes its paths', () => {
    const { value, details } = check(CreateHostDto, { name: 'web-1.example_org', paths: ['/srv//www/', '/etc/./nginx'], excludes: ['*.tmp'] });
    expect(details).toEqual([]);
    expect(value.paths).toEqual(['/srv/www', '/etc/nginx']);
    expect(check(CreateHostDto, { name: 'a', paths: ['/'] }).details).toEqual([]);
  });

  it('names the offending element of paths', () => {
    expect(check(CreateHostDto, { name: 'a', paths: ['/ok', 'relative'] }).details).toEqual(['paths.1 must be an absolute path (starting with /)']);
    expect(check(CreateHostDto, { name: 'a', paths: ['/ok', '/bad\0name'] }).details).toEqual(['paths.1 must not contain NUL characters']);
    expect(check(CreateHostDto, { name: 'a', paths: ['/srv', '/srv/www'] }).details).toEqual(['paths.1 (/srv/www) lies inside paths.0 (/srv)']);
    expect(check(CreateHostDto, { name: 'a', paths: ['/srv/www', '/'] }).details).toEqual(['paths.0 (/srv/www) lies inside paths.1 (/)']);
    expect(check(CreateHostDto, { name: 'a', paths: ['/srv/', '/srv'] }).details).toEqual(['paths.1 repeats paths.0 (/srv)']);
    expect(check(CreateHostDto, { name: 'a', paths: [] }).details).toEqual(['paths must contain 1 to 64 paths']);
    expect(check(CreateHostDto, { name: 'a', paths: [3] }).details).toEqual(['paths.0 must be an absolute path (a string)']);
    expect(check(CreateHostDto, { name: 'a', paths: Array.from({ length: 65 }, (_, i) => `/p${i}`) }).details).toEqual(['paths must contain 1 to 64 paths']);
  });

  it('rejects bad names, unknown fields and bad excludes', () => {
    expect(check(CreateHostDto, { paths: ['/a'] }).details).toEqual([expect.stringMatching(/^name must be 1 to 63 letters/)]);
    expect(check(CreateHostDto, { name: '-dash', paths: ['/a'], extra: 1 }).details).toEqual(['property extra should not exist', expect.stringMatching(/^name must be/)]);
    expect(check(CreateHostDto, { name: 'a', paths: ['/a'], excludes: ['ok', 'bad\0'] }).details).toEqual(['excludes must not contain NUL characters in any element']);
    expect(check(CreateHostDto, { name: 'a', paths: ['/a'], excludes: [''] }).details).toEqual(['each value in excludes must be longer than or equal to 1 and shorter than or equal to 1024 characters']);
  });
});

describe('hostNameProblem', () => {
  it('allows hostname-like names up to 63 characters and no UUIDs', () => {
    expect(hostNameProblem('db01')).toBeNull();
    expect(hostNameProblem('a'.repeat(63))).toBeNull();
    expect(hostNameProblem('a'.repeat(64))).not.toBeNull();
    expect(hostNameProblem('has space')).not.toBeNull();
    expect(hostNameProblem('.hidden')).not.toBeNull();
    expect(hostNameProblem('6efdf12f-8d62-495e-8223-d59e4db91f1b')).toBe('must not be a UUID (ids and names share the same URLs)');
  });
});

describe('RunQueryDto', () => {
  it('converts limit from the query string and checks its range', () => {
    expect(check(RunQueryDto, { limit: '20' }).value.limit).toBe(20);
    expect(check(RunQueryDto, { limit: '201' }).details).toEqual(['limit must not be greater than 200']);
    expect(check(RunQueryDto, { limit: 'ten' }).details).toEqual(expect.arrayContaining(['limit must be an integer number']));
    expect(check(RunQueryDto, { hostId: 'nope', status: 'done' }).details).toEqual(['hostId must be a UUID', expect.stringMatching(/^status must be one of the following values: queued, running/)]);
  });
});

describe('RestoreDto', () => {
  it('requires an absolute target directory and normalizes the sub-path', () => {
    const { value, details } = check(RestoreDto, { targetDir: '/restore/', subPath: '/etc//nginx', targetHost: 'web1' });
    expect(details).toEqual([]);
    expect(value).toEqual({ targetDir: '/restore', subPath: '/etc/nginx', targetHost: 'web1' });
    expect(check(RestoreDto, { targetDir: 'restore' }).details).toEqual(['targetDir must be an absolute path (starting with /)']);
    expect(check(RestoreDto, { targetDir: '/r', targetHost: 'no such host!' }).details).toEqual(['targetHost must be a host id or a host name']);
  });
});

describe('RunFinishDto', () => {
  it('names nested fields by their full path', () => {
    const { details } = check(RunFinishDto, {
      status: 'partial',
      counters: { filesDone: -1, bogus: 2 },
      fileErrors: [{ path: '/x', message: 'EACCES' }, { path: 5 }],
      snapshot: { id: 'x', rootTree: 'abc', stats: { files: 1, dirs: 1, bytes: 1, bytesSent: 1, bytesStored: 1.5 }, publishedAt: 'yesterday' },
    });
    expect(details).toEqual(
      expect.arrayContaining([
        'property counters.bogus should not exist',
        'counters.filesDone must not be less than 0',
        'fileErrors.1.path must be a string of 1 to 65536 characters',
        'snapshot.id must be a UUID',
        'snapshot.stats.bytesStored must be an integer number',
        'snapshot.publishedAt must be a valid ISO 8601 date string',
      ]),
    );
  });

  it('checks file errors element by element', () => {
    const finish = (fileErrors: unknown): string[] => check(RunFinishDto, { status: 'failed', counters: {}, fileErrors }).details;
    expect(finish([{ path: '/a', message: 'EACCES' }])).toEqual([]);
    expect(finish([{ path: '/a', message: 'x' }, { path: '/b', message: 'y', code: 13 }])).toEqual(['property fileErrors.1.code should not exist']);
    expect(finish([{ path: '', message: 'x' }])).toEqual(['fileErrors.0.path must be a string of 1 to 65536 characters']);
    expect(finish([{ path: '/a' }])).toEqual(['fileErrors.0.message must be a string of at most 65536 characters']);
    expect(finish(['/a'])).toEqual(['fileErrors.0 must be an object with path and message']);
    expect(finish({ path: '/a' })).toEqual(['fileErrors must be an array of { path, message }']);
    expect(finish(Array.from({ length: 10_001 }, () => ({ path: '/a', message: '' })))).toEqual(['fileErrors must contain at most 10000 file errors']);
  });

  it('requires counters and a known status', () => {
    expect(check(RunFinishDto, { status: 'done' }).details).toEqual([expect.stringMatching(/^status must be one of the following values: succeeded, partial, failed/), 'counters must be an object']);
  });
});

describe('exclude lists (hosts and groups share one rule)', () => {
  const cases: [object, string[]][] = [
    [{ excludes: ['*.tmp', '/var/cache/**'] }, []],
    [{ excludes: 'not-a-list' }, ['excludes must be an array']],
    [{ excludes: [''] }, ['each value in excludes must be longer than or equal to 1 and shorter than or equal to 1024 characters']],
    [{ excludes: ['x'.repeat(1025)] }, ['each value in excludes must be longer than or equal to 1 and shorter than or equal to 1024 characters']],
    [{ excludes: Array.from({ length: 257 }, (_, i) => `p${i}`) }, ['excludes must contain no more than 256 elements']],
    [{ excludes: ['ok', 'bad\0'] }, ['excludes must not contain NUL characters in any element']],
  ];
  it.each(cases)('%j -> %j', (body, expected) => {
    // A value that is not a list also fails the size rule on some classes: require the named message, no other field.
    const matches: unknown = expected.length === 0 ? [] : expect.arrayContaining(expected);
    for (const details of [check(CreateHostDto, { name: 'a', paths: ['/a'], ...body }).details, check(UpdateHostDto, body).details, check(CreateGroupDto, { name: 'web', ...body }).details]) {
      expect(details).toEqual(matches);
      expect(details.every((line) => line.includes('excludes'))).toBe(true);
    }
  });
});
