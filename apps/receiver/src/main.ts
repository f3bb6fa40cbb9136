import { Repository } from '@berth/repository';
import { readFileSync } from 'node:fs';
import { ConfigError } from './config/config-error';
import { loadReceiverConfig, RECEIVER_USAGE, type ReceiverConfig } from './config/receiver-config';
import { Receiver } from './server/receiver';
import { consoleLogger } from './util/logger';
import { ControllerSessionVerifier } from './verify/controller-session-verifier';

async function start(config: ReceiverConfig): Promise<void> {
  const tls = config.tls === null ? null : { cert: readFileSync(config.tls.certFile), key: readFileSync(config.tls.keyFile) };
  const repository = await Repository.open(config.repositoryDir);
  for (const report of repository.recovered) consoleLogger.error(`repository recovery: ${JSON.stringify(report)}`);
  const receiver = new Receiver({
    repository,
    verifier: new ControllerSessionVerifier(config.controllerUrl, config.receiverToken),
    limits: config.limits,
    logger: consoleLogger,
    tls,
  });
  const address = await receiver.listen(config.listen.host, config.listen.port);
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  process.stdout.write(`berth receiver listening on ${host}:${address.port} (${receiver.tls ? 'tls' : 'plain'}), repository ${config.repositoryDir}\n`);

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    consoleLogger.info(`${signal}: stopping, ending sessions`);
    void receiver
      .close()
      .then(() => repository.close())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          consoleLogger.error(`shutdown failed: ${(error as Error).message}`);
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

function main(): void {
  let parsed: ReturnType<typeof loadReceiverConfig>;
  try {
    parsed = loadReceiverConfig(process.argv.slice(3));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`berth receiver: ${error.message}\n`);
    process.exit(2);
  }
  if (parsed.help) {
    process.stdout.write(RECEIVER_USAGE);
    return;
  }
  start(parsed.config).catch((error: unknown) => {
    process.stderr.write(`berth receiver: cannot start: ${(error as Error).message}\n`);
    process.exit(1);
  });
}

main();
