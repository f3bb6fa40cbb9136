import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

/** A database of its own on the server of `serverUrl`, so parallel fleets never see each other's rows. */
export interface ScratchDatabase {
  readonly url: string;
  readonly name: string;
  drop(): Promise<void>;
}

export function databaseUrlWithName(serverUrl: string, name: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

async function withClient<T>(url: string, use: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

/** CREATE DATABASE berth_<prefix>_<random> next to the database of `serverUrl`. */
export async function createScratchDatabase(serverUrl: string, prefix = 'fleet'): Promise<ScratchDatabase> {
  if (!/^[a-z0-9_]{1,20}$/.test(prefix)) throw new Error(`database prefix "${prefix}" must be 1-20 of [a-z0-9_]`);
  const name = `berth_${prefix}_${randomBytes(6).toString('hex')}`;
  await withClient(serverUrl, (client) => client.query(`CREATE DATABASE "${name}"`));
  return {
    url: databaseUrlWithName(serverUrl, name),
    name,
    drop: () => withClient(serverUrl, (client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => undefined),
  };
}
