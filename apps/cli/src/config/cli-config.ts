/**
 * The CLI's environment, read in one place. Everything else receives these values as arguments.
 */
export const DEFAULT_CONTROLLER_URL = 'http://127.0.0.1:8080';

export interface CliEnvironment {
  /** BERTH_CONTROLLER_URL, or the default; `--controller` overrides it. */
  readonly controllerUrl: string;
  /** BERTH_TOKEN: the API token to present; null: the one `berth login` stored, if any. */
  readonly token: string | null;
}

export function loadCliEnvironment(env: NodeJS.ProcessEnv = process.env): CliEnvironment {
  const fromEnv = env['BERTH_CONTROLLER_URL']?.trim();
  const token = env['BERTH_TOKEN']?.trim();
  return { controllerUrl: fromEnv !== undefined && fromEnv !== '' ? fromEnv : DEFAULT_CONTROLLER_URL, token: token !== undefined && token !== '' ? token : null };
}
