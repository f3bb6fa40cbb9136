import { errorBody } from './api-exception.filter';
import { ErrorCode, httpStatusOf } from './error-code';

describe('error codes', () => {
  it('map to the HTTP status the API promises', () => {
    expect(httpStatusOf(ErrorCode.ValidationFailed)).toBe(400);
    expect(httpStatusOf(ErrorCode.InvalidCredential)).toBe(401);
    expect(httpStatusOf(ErrorCode.Unauthenticated)).toBe(401);
    expect(httpStatusOf(ErrorCode.Forbidden)).toBe(403);
    expect(httpStatusOf(ErrorCode.WrongHost)).toBe(403);
    expect(httpStatusOf(ErrorCode.RunNotActive)).toBe(403);
    expect(httpStatusOf(ErrorCode.RunNotFound)).toBe(404);
    expect(httpStatusOf(ErrorCode.AlreadyExists)).toBe(409);
    expect(httpStatusOf(ErrorCode.RunInProgress)).toBe(409);
    expect(httpStatusOf(ErrorCode.RunNotRetryable)).toBe(409);
    expect(httpStatusOf(ErrorCode.QueueUnavailable)).toBe(503);
    expect(httpStatusOf(ErrorCode.DatabaseUnavailable)).toBe(503);
  });

  it('every code has a status', () => {
    for (const code of Object.values(ErrorCode)) {
      expect(httpStatusOf(code)).toBeGreaterThanOrEqual(400);
    }
  });

  it('build ApiErrorBody values', () => {
    expect(errorBody(ErrorCode.ValidationFailed, 'Invalid request: x', ['x'])).toEqual({ statusCode: 400, code: 'validation_failed', message: 'Invalid request: x', details: ['x'] });
    expect(errorBody(ErrorCode.HostNotFound, 'Host "a" not found')).toEqual({ statusCode: 404, code: 'host_not_found', message: 'Host "a" not found' });
  });
});
