import { formatHostPort, parseHostPort } from './host-port';

describe('parseHostPort', () => {
  it('parses host names, IPv4 and bracketed IPv6', () => {
    expect(parseHostPort('0.0.0.0:8080')).toEqual({ host: '0.0.0.0', port: 8080 });
    expect(parseHostPort('backup.example.org:7443')).toEqual({ host: 'backup.example.org', port: 7443 });
    expect(parseHostPort('[::1]:9000')).toEqual({ host: '::1', port: 9000 });
  });

  it('explains what is wrong', () => {
    const errorOf = (text: string): string | undefined => {
      const parsed = parseHostPort(text);
      return 'error' in parsed ? parsed.error : undefined;
    };
    expect(errorOf('8080')).toBe('"8080" is not host:port (for example 0.0.0.0:8080 or [::1]:8080)');
    expect(errorOf('host:99999')).toBe('port 99999 is out of range 1..65535');
    expect(errorOf('host:0')).toBe('port 0 is out of range 1..65535');
    expect(parseHostPort('127.0.0.1:0', { allowPortZero: true })).toEqual({ host: '127.0.0.1', port: 0 });
    expect(errorOf('::1:80')).toMatch(/is not host:port/);
  });

  it('formats IPv6 hosts in brackets', () => {
    expect(formatHostPort({ host: '::1', port: 80 })).toBe('[::1]:80');
    expect(formatHostPort({ host: '127.0.0.1', port: 80 })).toBe('127.0.0.1:80');
  });
});
