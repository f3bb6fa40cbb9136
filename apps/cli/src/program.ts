import { Command, Option } from 'commander';
import { registerAuthCommands } from './commands/auth.command';
import { registerBackupCommand } from './commands/backup.command';
import { registerCancelCommand } from './commands/cancel.command';
import { registerDemoCommand } from './commands/demo.command';
import { registerHostCommands } from './commands/hosts.command';
import { registerRestoreCommand } from './commands/restore.command';
import { registerRetryCommand } from './commands/retry.command';
import { registerReportCommand } from './commands/report.command';
import { registerRunCommands } from './commands/runs.command';
import { registerScheduleCommands } from './commands/schedule.command';
import { registerSnapshotCommands } from './commands/snapshots.command';
import { registerWebhookCommands } from './commands/webhook.command';
import { DEFAULT_CONTROLLER_URL } from './config/cli-config';
import { registerDeltaCommands } from './delta';
import { type CliContext } from './context';

/** The `berth` command tree. Service commands (controller, receiver, agent) are dispatched by bin/berth.js. */
export function buildProgram(ctx: CliContext): Command {
  const program = new Command('berth');
  program
    .description('Berth: backups for a fleet of Linux servers. Operator commands talk to the controller API.')
    .addOption(new Option('--controller <url>', `controller URL (env BERTH_CONTROLLER_URL, default ${DEFAULT_CONTROLLER_URL})`))
    .configureOutput({
      writeOut: (text) => ctx.stdout.write(text),
      writeErr: (text) => ctx.stderr.write(text),
      outputError: (text, write) => write(`berth: ${text.replace(/^error: /, '')}`),
    })
    .showHelpAfterError('(`berth help [command]` shows usage)')
    .exitOverride()
    .addHelpText(
      'after',
      '\nServices (long-running): berth controller | berth receiver | berth agent  (each takes --help)\n' +
        'Exit codes: 0 success, 1 error or failed run, 2 bad command line, 3 run ended partial.\n',
    );

  registerHostCommands(program, ctx);
  registerScheduleCommands(program, ctx);
  registerBackupCommand(program, ctx);
  registerRunCommands(program, ctx);
  registerRetryCommand(program, ctx);
  registerCancelCommand(program, ctx);
  registerSnapshotCommands(program, ctx);
  registerReportCommand(program, ctx);
  registerRestoreCommand(program, ctx);
  registerAuthCommands(program, ctx);
  registerWebhookCommands(program, ctx);
  registerDemoCommand(program, ctx);
  registerDeltaCommands(program);
  return program;
}
