import { ApiRequestError, ControllerUnreachableError } from '../api/api-errors';
import { CliError } from './cli-error';
import { ExitCode } from './exit-codes';

export interface ErrorReport {
  /** What to print on stderr: one line, then optional indented detail lines. */
  readonly text: string;
  readonly exitCode: ExitCode;
}

function withDetails(message: string, details: readonly string[]): string {
  return `berth: ${message}\n${details.map((d) => `  ${d}\n`).join('')}`;
}

/** Turns any failure into the one-line message the operator sees, saying what to do where we can. */
export function describeError(error: unknown): ErrorReport {
  if (error instanceof ControllerUnreachableError) {
    return {
      text: `berth: cannot reach the controller at ${error.controllerUrl} (${error.reason}); start it with \`berth controller\` or pass --controller\n`,
      exitCode: ExitCode.Failure,
    };
  }
  if (error instanceof ApiRequestError) {
    // The controller's message may already quote its details; print each one only once.
    const details = (error.body.details ?? []).filter((detail) => !error.body.message.includes(detail));
    if (error.body.code === 'unauthenticated') details.push('log in with `berth login` (token on stdin) or set BERTH_TOKEN');
    return { text: withDetails(error.body.message, details), exitCode: ExitCode.Failure };
  }
  if (error instanceof CliError) {
    return { text: withDetails(error.message, error.details), exitCode: error.exitCode };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { text: `berth: unexpected error: ${message}\n`, exitCode: ExitCode.Failure };
}
