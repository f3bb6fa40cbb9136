import { type Command } from 'commander';
import { ApiClient, normalizeBaseUrl } from './api/api-client';
import { CredentialsStore } from './config/credentials-store';
import { type CliEnvironment } from './config/cli-config';
import { type ExitCode } from './errors/exit-codes';

export interface TextOutput {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

/** What every command needs: where to print, the environment, and a client for the chosen controller. */
export class CliContext {
  /** Set by a command that succeeded with a warning (a partial run); errors are thrown instead. */
  exitCode: ExitCode | null = null;

  constructor(
    readonly stdout: TextOutput,
    readonly stderr: TextOutput,
    readonly env: CliEnvironment,
  ) {}

  /** The controller URL: --controller (anywhere on the line), else BERTH_CONTROLLER_URL, else the default. */
  controllerUrl(command: Command): string {
    const value: unknown = command.optsWithGlobals()['controller'];
    return typeof value === 'string' && value !== '' ? value : this.env.controllerUrl;
  }

  /** A client presenting BERTH_TOKEN, else the token `berth login` stored for this controller. */
  api(command: Command): ApiClient {
    const url = this.controllerUrl(command);
    return new ApiClient(url, { token: this.env.token ?? this.credentials()?.loginFor(normalizeBaseUrl(url))?.token ?? null });
  }

  /** The login store, or null when there is none (no home directory). */
  credentials(): CredentialsStore | null {
    return this.env.credentialsFile === undefined || this.env.credentialsFile === null ? null : new CredentialsStore(this.env.credentialsFile);
  }

  print(text: string): void {
    this.stdout.write(text);
  }

  printJson(value: unknown): void {
    this.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  warn(line: string): void {
    this.stderr.write(`berth: warning: ${line}\n`);
  }
}
