/** The same server and credentials as `url`, another database. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${encodeURIComponent(database)}`;
  return parsed.toString();
}

/** The database a postgresql:// URL names. */
export function databaseName(url: string): string {
  return decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
}

/** host:port[/database] of a service URL, for logs: never the credentials. */
export function describeServiceUrl(url: string): string {
  try {
    const parsed = new URL(url);
    const database = parsed.pathname.length > 1 ? parsed.pathname : '';
    return `${parsed.hostname}:${parsed.port || defaultPort(parsed.protocol)}${database}`;
  } catch {
    return '(unparsable URL)';
  }
}

function defaultPort(protocol: string): string {
  return protocol.startsWith('redis') ? '6379' : '5432';
}

/** Double-quoted SQL identifier. */
export function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
