import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { type AddressInfo } from 'node:net';
import { createControllerApp } from './app.factory';
import { CONTROLLER_USAGE, parseControllerArgs } from './config/controller-args';
import { loadControllerConfig } from './config/controller-config';
import { formatHostPort } from './config/host-port';

/** Longest a graceful stop may take before the process exits anyway. */
const SHUTDOWN_TIMEOUT_MS = 15_000;

async function main(argv: readonly string[]): Promise<void> {
  const args = parseControllerArgs(argv);
  if (args.help) {
    process.stdout.write(`${CONTROLLER_USAGE}\n`);
    return;
  }
  const config = loadControllerConfig();
  const listen = args.listen ?? config.listen;
  const app = await createControllerApp(config);
  await app.listen(listen.port, listen.host);
  const address = app.getHttpServer().address() as AddressInfo;
  const logger = new Logger('Controller');
  // A plain line (no log decoration) that scripts and the process harness wait for; it names the real port.
  process.stdout.write(`berth controller listening on http://${formatHostPort({ host: listen.host, port: address.port })}\n`);

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    logger.log(`${signal}: closing HTTP server, queues and connections`);
    setTimeout(() => {
      logger.error(`did not stop within ${SHUTDOWN_TIMEOUT_MS} ms; exiting`);
      process.exit(1);
    }, SHUTDOWN_TIMEOUT_MS).unref();
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error(`error while stopping: ${String(error)}`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

// `node apps/controller/dist/main.js ARGS` or `berth controller ARGS` (bin/berth.js requires this file).
const argv = process.argv.slice(require.main === module ? 2 : 3);
main(argv).catch((error: unknown) => {
  process.stderr.write(`berth controller: ${error instanceof Error ? error.message : String(error)}\n${CONTROLLER_USAGE}\n`);
  process.exit(1);
});
