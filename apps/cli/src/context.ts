import { type Command } from 'commander';
import { ApiClient } from './api/api-client';
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

  api(command: Command): ApiClient {
    return new ApiClient(this.controllerUrl(command), { token: this.env.token });
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
