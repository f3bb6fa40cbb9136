import { CommanderError } from 'commander';
import { type CliEnvironment } from './config/cli-config';
import { CliContext, type TextOutput } from './context';
import { describeError } from './errors/describe-error';
import { ExitCode } from './errors/exit-codes';
import { buildProgram } from './program';

/** Runs one command line (without "node berth") and returns the exit code; never calls process.exit. */
export async function runCli(argv: readonly string[], io: { stdout: TextOutput; stderr: TextOutput }, env: CliEnvironment): Promise<number> {
  const ctx = new CliContext(io.stdout, io.stderr, env);
  const program = buildProgram(ctx);
  try {
    if (argv.length === 0) {
      program.outputHelp();
      return ExitCode.Usage;
    }
    await program.parseAsync([...argv], { from: 'user' });
    return ctx.exitCode ?? ExitCode.Ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are "errors" to commander's exitOverride; its message has been printed already.
      return error.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
    }
    const report = describeError(error);
    io.stderr.write(report.text);
    return report.exitCode;
  }
}
