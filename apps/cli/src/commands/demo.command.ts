import { type Command } from 'commander';
import { type CliContext } from '../context';

export interface DemoCommandOptions {
  smallFiles: string;
  keep?: boolean;
}

export function registerDemoCommand(program: Command, ctx: CliContext): void {
  program
    .command('demo')
    .description('run a whole backup and restore on this machine: services, sample tree, two backups, restore, verification')
    .option('--small-files <n>', 'number of small files in the sample tree', '3000')
    .option('--keep', 'keep the demo data (.berth/demo) afterwards for inspection')
    .action(async (options: DemoCommandOptions) => {
      // Loaded only here: the demo pulls in the process harness and the local PostgreSQL/Redis tooling.
      const { runDemo } = await import('../demo/run-demo');
      await runDemo(ctx, options);
    });
}
