import { parseControllerArgs } from './controller-args';

describe('parseControllerArgs', () => {
  it('accepts --listen in both forms', () => {
    expect(parseControllerArgs(['--listen', '127.0.0.1:9000']).listen).toEqual({ host: '127.0.0.1', port: 9000 });
    expect(parseControllerArgs(['--listen=[::]:80']).listen).toEqual({ host: '::', port: 80 });
    expect(parseControllerArgs(['--listen', '127.0.0.1:0']).listen).toEqual({ host: '127.0.0.1', port: 0 });
    expect(parseControllerArgs([])).toEqual({ help: false });
  });

  it('rejects a missing or bad address and unknown arguments, naming them', () => {
    expect(() => parseControllerArgs(['--listen'])).toThrow('--listen needs HOST:PORT');
    expect(() => parseControllerArgs(['--listen', 'nowhere'])).toThrow('--listen: "nowhere" is not host:port');
    expect(() => parseControllerArgs(['--port', '80'])).toThrow('unknown argument "--port"');
  });
});
