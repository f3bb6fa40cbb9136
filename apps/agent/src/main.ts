/**
 * `berth agent`: the long-running process on each client. Boots (enroll, configuration, worker), then
 * processes its host's jobs until SIGTERM or SIGINT, when running jobs are interrupted cleanly (they go
 * back to the queue and resume later), the worker is closed, and the process exits 0.
 */
import { AGENT_USAGE, loadAgentConfig } from './config/agent-config';
import { AgentError, AgentErrorCode, errorMessage } from './errors/agent-error';
import { bootAgent, type RunningAgent } from './boot/agent-boot';
import { consoleLogger } from './util/logger';

async function main(): Promise<number> {
  const log = consoleLogger();
  // Started as `berth agent ...` (argv[2] is the command) or directly as `node main.js ...`.
  const args = process.argv[2] === 'agent' ? process.argv.slice(3) : process.argv.slice(2);
  const commandLine = loadAgentConfig(args);
  if (commandLine.help) {
    process.stdout.write(AGENT_USAGE);
    return 0;
  }
  const stopping = new AbortController();
  let agent: RunningAgent | null = null;
  const stopped = new Promise<void>((resolve) => {
    const onSignal = (name: NodeJS.Signals): void => {
      if (stopping.signal.aborted) return;
      log.info(`${name} received: stopping (running jobs go back to the queue)`);
      stopping.abort();
      resolve();
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  });
  try {
    agent = await bootAgent(commandLine.config, log, stopping.signal);
  } catch (error) {
    if (error instanceof AgentError && error.code === AgentErrorCode.Interrupted) return 0;
    throw error;
  }
  const refused = await Promise.race([stopped.then(() => null), agent.refused]);
  if (refused !== null) {
    log.error(refused);
    await agent.worker.closeNow();
    return 1;
  }
  await agent.stop();
  log.info('stopped');
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`berth agent: ${errorMessage(error)}\n`);
    process.exit(error instanceof AgentError && error.code === AgentErrorCode.Config ? 2 : 1);
  },
);
