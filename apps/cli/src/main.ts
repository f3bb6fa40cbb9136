import { runCli } from './cli';
import { loadCliEnvironment } from './config/cli-config';
import { ExitCode } from './errors/exit-codes';
import { runInterruptCleanups } from './interrupt';

process.once('SIGINT', () => {
  process.stderr.write('\r\u001b[K\nberth: interrupted; a run already started goes on (follow it with `berth runs`)\n');
  void runInterruptCleanups().finally(() => process.exit(ExitCode.Interrupted));
});

// `berth runs | head`: once the reader has gone, nothing more is worth writing. End quietly, as Unix tools do, instead
// of an unhandled EPIPE and its stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(typeof process.exitCode === 'number' ? process.exitCode : ExitCode.Ok);
});

runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr }, loadCliEnvironment()).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`berth: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = ExitCode.Failure;
  },
);
