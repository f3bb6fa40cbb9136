/** A TCP endpoint given as `host:port` (IPv6 hosts in brackets: `[::1]:8080`). */
export interface HostPort {
  host: string;
  port: number;
}

const HOST_PORT = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9._-]+)):(\d{1,5})$/;

/**
 * Parses `host:port`; returns a reason (for the caller's error message) when the text is not one. Port 0 (the
 * kernel picks one) makes sense only for an address to listen on.
 */
export function parseHostPort(text: string, options: { allowPortZero?: boolean } = {}): HostPort | { error: string } {
  const match = HOST_PORT.exec(text.trim());
  if (!match) {
    return { error: `"${text}" is not host:port (for example 0.0.0.0:8080 or [::1]:8080)` };
  }
  const host = match[1] ?? match[2] ?? '';
  const port = Number(match[3]);
  const lowest = options.allowPortZero === true ? 0 : 1;
  if (!Number.isInteger(port) || port < lowest || port > 65_535) {
    return { error: `port ${match[3]} is out of range ${lowest}..65535` };
  }
  return { host, port };
}

export function formatHostPort({ host, port }: HostPort): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
