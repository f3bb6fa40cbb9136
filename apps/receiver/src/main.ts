import { Repository } from '@berth/repository';
import { readFileSync } from 'node:fs';
import { ConfigError } from './config/config-error';
import { loadReceiverConfig, RECEIVER_USAGE, type ReceiverConfig } from './config/receiver-config';
import { slotPolicyFor } from './admission/slot-policy-for';
import { MetricsEndpoint } from './server/metrics-endpoint';
import { Receiver } from './server/receiver';
import { ThrottledRepository } from './throttle/throttled-repository';
import { consoleLogger } from './util/logger';
import { ControllerSessionVerifier } from './verify/controller-session-verifier';

async function start(config: ReceiverConfig): Promise<void> {
  const tls = config.tls === null ? null : { cert: readFileSync(config.tls.certFile), key: readFileSync(config.tls.keyFile) };
  const repository = await Repository.open(config.repositoryDir);
  for (const report of repository.recovered) consoleLogger.error(`repository recovery: ${JSON.stringify(report)}`);
  // A write throttle models a slow disk; sessions see it as the repository itself.
  const sessionRepository = config.writeThrottle === null ? repository : new ThrottledRepository(repository, config.writeThrottle);
  const verifier = new ControllerSessionVerifier(config.controllerUrl, config.receiverToken);
  const receiver = new Receiver({
    repository: sessionRepository,
    verifier,
    limits: config.limits,
    logger: consoleLogger,
    tls,
    slotPolicy: slotPolicyFor(config.admission, config.limits.maxSessions),
    credentialCheckMs: config.credentialCheckMs,
  });
  // The metrics endpoint binds first: the "listening" line below means every socket the receiver serves is bound.
  const metricsEndpoint = config.metricsListen === null ? null : new MetricsEndpoint(() => receiver.metrics());
  if (metricsEndpoint !== null && config.metricsListen !== null) {
    const bound = await metricsEndpoint.listen(config.metricsListen.host, config.metricsListen.port);
    process.stdout.write(`berth receiver metrics on http://${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}/metrics\n`);
  }
  const address = await receiver.listen(config.listen.host, config.listen.port);
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  process.stdout.write(`berth receiver listening on ${host}:${address.port} (${receiver.tls ? 'tls' : 'plain'}), repository ${config.repositoryDir}\n`);
  // Not awaited: the receiver may well start before its controller; sessions wait for it either way.
  verifier.checkController().then(
    () => consoleLogger.info(`controller ${config.controllerUrl} answers and accepts the receiver token`),
    (error: unknown) => consoleLogger.error(`controller check failed: ${(error as Error).message}; sessions cannot start until the controller accepts the receiver token`),
  );
  const throttle = config.writeThrottle;
  const admission = config.admission.mode === 'adaptive' ? `adaptive (AIMD, target ${config.admission.commitLatencyTargetMs} ms)` : 'fixed';
  consoleLogger.info(
    `admission ${admission}, at most ${config.limits.maxSessions} sessions writing` +
      (throttle === null ? '' : `; repository writes throttled to ${throttle.bytesPerSecond ?? 'unlimited'} bytes/s, ${throttle.opsPerSecond ?? 'unlimited'} ops/s`),
  );

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    consoleLogger.info(`${signal}: stopping, ending sessions`);
    void receiver
      .close()
      .then(() => metricsEndpoint?.close())
      .then(() => repository.close())
      .then(() => verifier.close())
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
