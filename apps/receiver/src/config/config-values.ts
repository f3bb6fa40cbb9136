import { ConfigError } from './config-error';

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** "host:port" or "[v6]:port"; port 0 asks the system for a free port. */
export function parseHostPort(raw: string, setting: string): HostPort {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(raw.trim());
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) throw new ConfigError(`${setting} must be HOST:PORT (e.g. 0.0.0.0:7443), got "${raw}"`);
  const host = match[1] ?? match[2] ?? '';
  if (host === '') throw new ConfigError(`${setting} must name a host, got "${raw}"`);
  return { host, port };
}

export function parseInteger(raw: string | undefined, setting: string, fallback: number, min: number, max: number): number {
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw.trim());
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigError(`${setting} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

export function parseUrl(raw: string | undefined, setting: string): string {
  if (raw === undefined || raw.trim() === '') throw new ConfigError(`${setting} is missing`);
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new ConfigError(`${setting} is not a URL: "${raw}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(`${setting} must be an http(s) URL, got "${raw}"`);
  return url.toString().replace(/\/+$/, '');
}

export function nonEmpty(raw: string | undefined): string | null {
  return raw === undefined || raw.trim() === '' ? null : raw.trim();
}
