import path from 'node:path';
import { CredentialsStore } from './credentials-store';

/**
 * The CLI's environment, read in one place. Everything else receives these values as arguments.
 */
export const DEFAULT_CONTROLLER_URL = 'http://127.0.0.1:8080';

export interface CliEnvironment {
  /** BERTH_CONTROLLER_URL, else the controller of the last `berth login`, else the default; `--controller` overrides it. */
  readonly controllerUrl: string;
  /** Where `berth login` keeps tokens; null: no login store (tests that pass BERTH_TOKEN). */
  readonly credentialsFile?: string | null;
  /** BERTH_TOKEN: the API token to present; null: the one `berth login` stored, if any. */
  readonly token: string | null;
}

export function loadCliEnvironment(env: NodeJS.ProcessEnv = process.env): CliEnvironment {
  const fromEnv = env['BERTH_CONTROLLER_URL']?.trim();
  const token = env['BERTH_TOKEN']?.trim();
  const credentialsFile = credentialsFileOf(env);
  const controllerUrl = fromEnv !== undefined && fromEnv !== '' ? fromEnv : (credentialsFile === null ? null : new CredentialsStore(credentialsFile).read().default) ?? DEFAULT_CONTROLLER_URL;
  return { controllerUrl, token: token !== undefined && token !== '' ? token : null, credentialsFile };
}

/** BERTH_CREDENTIALS_FILE, else $XDG_CONFIG_HOME/berth/credentials.json, else ~/.config/berth/credentials.json. */
export function credentialsFileOf(env: NodeJS.ProcessEnv): string | null {
  const explicit = env['BERTH_CREDENTIALS_FILE']?.trim();
  if (explicit !== undefined && explicit !== '') return explicit;
  const base = env['XDG_CONFIG_HOME']?.trim() || (env['HOME']?.trim() ? path.join(env['HOME'].trim(), '.config') : '');
  return base === '' ? null : path.join(base, 'berth', 'credentials.json');
}
