import { ApiRequestError, ControllerUnreachableError } from '../api/api-errors';
import { unknownHost } from '../commands/resolve-host';
import { UsageError } from './cli-error';
import { describeError } from './describe-error';

describe('describeError', () => {
  it('says how to reach the controller', () => {
    expect(describeError(new ControllerUnreachableError('http://127.0.0.1:8080', 'ECONNREFUSED'))).toEqual({
      text: 'berth: cannot reach the controller at http://127.0.0.1:8080 (ECONNREFUSED); start it with `berth controller` or pass --controller\n',
      exitCode: 1,
    });
  });

  it('prints the API message and one line per detail', () => {
    const error = new ApiRequestError('POST', '/hosts', { statusCode: 400, code: 'validation_failed', message: 'Invalid request', details: ['name must be 1 to 63 letters', 'paths must not be empty'] });
    expect(describeError(error).text).toBe('berth: Invalid request\n  name must be 1 to 63 letters\n  paths must not be empty\n');
    const quoted = new ApiRequestError('POST', '/hosts', { statusCode: 400, code: 'validation_failed', message: 'Invalid request: name is bad', details: ['name is bad'] });
    expect(describeError(quoted).text).toBe('berth: Invalid request: name is bad\n');
  });

  it('names the unknown host and how to list hosts; usage errors exit 2', () => {
    expect(describeError(unknownHost('web-9')).text).toBe('berth: no host named web-9; list hosts with `berth hosts`\n');
    expect(describeError(new UsageError('bad')).exitCode).toBe(2);
    expect(describeError(new Error('boom'))).toEqual({ text: 'berth: unexpected error: boom\n', exitCode: 1 });
  });
});
