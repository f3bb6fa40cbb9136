import net from 'node:net';
import { ApiClient } from './api-client';
import { ControllerUnreachableError, networkErrorCode, toApiErrorBody } from './api-errors';

describe('API errors', () => {
  it('reads the controller error body, keeping its details', () => {
    const body = toApiErrorBody(400, 'Bad Request', JSON.stringify({ statusCode: 400, code: 'validation_failed', message: 'Invalid request', details: ['paths must not be empty'] }));
    expect(body).toEqual({ statusCode: 400, code: 'validation_failed', message: 'Invalid request', details: ['paths must not be empty'] });
  });

  it('builds a body when the server sent something else', () => {
    expect(toApiErrorBody(502, 'Bad Gateway', '<html>proxy</html>')).toEqual({ statusCode: 502, code: 'HTTP_502', message: 'controller answered 502 Bad Gateway: <html>proxy</html>' });
  });

  it('turns a refused connection into ControllerUnreachableError naming the URL and ECONNREFUSED', async () => {
    // A port that was free a moment ago: nothing listens there.
    const port = await new Promise<number>((resolve) => {
      const server = net.createServer().listen(0, '127.0.0.1', () => {
        const address = server.address() as net.AddressInfo;
        server.close(() => resolve(address.port));
      });
    });
    const client = new ApiClient(`http://127.0.0.1:${port}/`);
    expect(client.baseUrl).toBe(`http://127.0.0.1:${port}`);
    const error: unknown = await client.listHosts().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ControllerUnreachableError);
    expect((error as ControllerUnreachableError).reason).toBe('ECONNREFUSED');
  });

  it('does not mistake other errors for network failures', () => {
    expect(networkErrorCode(new SyntaxError('Unexpected token'))).toBeNull();
    expect(networkErrorCode(Object.assign(new Error('x'), { code: 'ENOTFOUND' }))).toBe('ENOTFOUND');
  });
});
