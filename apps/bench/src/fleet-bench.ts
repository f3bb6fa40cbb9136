/**
 * `npm run bench:fleet`: how fast one schedule tick dispatches a large fleet, and what it costs the controller in
 * Redis connections.
 *
 * For each fleet size (default 10 and 1,000 hosts; `--hosts 10,1000,5000`), on one controller process: a group
 * of that many hosts (inserted straight into PostgreSQL: set-up, not measured) gets a schedule whose next
 * occurrence is a few seconds away, spread 0. Simulated agents (libs/harness SimulatedAgents: a few blocking
 * connections, each waiting on the queue markers of its share of the hosts, as a BullMQ worker waits on its
 * own) record when each host's job reached them. Reported per size:
 *
 *   dispatch   the tick's due time to the moment the host's agent saw its job: p50, p95, p99, max (target p99 < 1 s)
 *   enqueued   due time to the moment BullMQ stamped the job (the controller's part)
 *   tick       as the controller logs it: how late its tick handler started, how long it took, and the CPU time
 *              of the controller process meanwhile (what the wall clock stretches on a busy machine)
 *   conns      the controller's Redis connections after the tick (CLIENT LIST by its client names), and how many
 *              of them block; the same for every size is the point
 *
 * Options: --hosts N[,N...], --agent-connections N (default 16), --json (one JSON object on the last line).
 * Wall clock on a shared machine: the load average stands beside the figures.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createScratchDatabase, type DispatchMeasurement, HarnessApi, measureScheduleDispatch, type ScratchDatabase, startController } from '@berth/harness';
import { ensureLocalStack, type LocalStack, migrateDatabase } from '@berth/local-stack';
import { loadAverage } from './transfer/proc-stats';

const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

interface FleetBenchOptions {
  readonly hosts: number[];
  readonly agentConnections: number;
  readonly json: boolean;
}

const USAGE = 'usage: npm run bench:fleet -- [--hosts N[,N...]] [--agent-connections N] [--json]';

function parseOptions(argv: readonly string[]): FleetBenchOptions {
  let hosts = [10, 1000];
  let agentConnections = 16;
  let json = false;
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index];
    const value = (): string => {
      const next = argv[++index];
      if (next === undefined) throw new Error(`${arg} needs a value\n${USAGE}`);
      return next;
    };
    if (arg === '--json') json = true;
    else if (arg === '--hosts') hosts = value().split(',').map((text) => positive('--hosts', text, 100_000));
    else if (arg === '--agent-connections') agentConnections = positive('--agent-connections', value(), 1_000);
    else throw new Error(`unknown option ${arg}\n${USAGE}`);
  }
  return { hosts, agentConnections, json };
}

function positive(option: string, text: string, max: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1 || value > max) throw new Error(`${option}: "${text}" is not a whole number from 1 to ${max}\n${USAGE}`);
  return value;
}

function formatTable(results: readonly DispatchMeasurement[]): string {
  const header = ['hosts', 'runs queued', 'dispatch p50', 'p95', 'p99', 'max', 'enqueued p99', 'tick start', 'tick took', 'tick CPU', 'controller conns', 'blocking', 'p99 < 1 s'];
  const ms = (value: number): string => `${Math.round(value)} ms`;
  const rows = results.map((result) => [
    result.hosts.toLocaleString('en-US'),
    String(result.runsQueued),
    ms(result.dispatch.p50),
    ms(result.dispatch.p95),
    ms(result.dispatch.p99),
    ms(result.dispatch.max),
    ms(result.enqueued.p99),
    result.tick === null ? '?' : ms(result.tick.startedAfterMs),
    result.tick === null ? '?' : ms(result.tick.tookMs),
    result.tick === null ? '?' : ms(result.tick.cpuMs),
    String(result.controllerConnections.total),
    String(result.controllerConnections.blocking),
    result.dispatch.p99 < 1000 ? 'met' : 'MISSED',
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]?.length ?? 0)));
  const line = (cells: readonly string[]): string => `| ${cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join(' | ')} |`;
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join('\n');
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const loadAtStart = loadAverage();
  const startedAt = performance.now();
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-fleet-bench-'));
  let stack: LocalStack | null = null;
  let database: ScratchDatabase | null = null;
  try {
    log(`fleet dispatch bench: hosts ${options.hosts.join(', ')}; load average ${loadAtStart.toFixed(2)} on ${os.cpus().length} CPUs`);
    stack = await ensureLocalStack({
      log,
      env: { DATABASE_URL: process.env['DATABASE_URL'] ?? 'postgresql://root@127.0.0.1:5432/root', REDIS_URL: process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379' },
    });
    database = await createScratchDatabase(stack.databaseUrl, 'fleetbench');
    await migrateDatabase(database.url);
    const controller = await startController({
      databaseUrl: database.url,
      redisUrl: stack.redisUrl,
      receiverAddress: { host: '127.0.0.1', port: 7443 },
      receiverToken: 'fleet-bench-receiver-token',
      logFile: path.join(work, 'controller.log'),
    });
    const results: DispatchMeasurement[] = [];
    try {
      const api = new HarnessApi(controller.url, controller.adminToken);
      for (const [index, hosts] of options.hosts.entries()) {
        log(`${hosts} hosts: inserting, then one tick...`);
        const result = await measureScheduleDispatch(
          { controller, api, databaseUrl: database.url, redisUrl: stack.redisUrl },
          { hosts, label: `fleet-${index + 1}-${hosts}`, agentConnections: options.agentConnections, timeoutMs: 60_000 },
        );
        log(`  p99 ${Math.round(result.dispatch.p99)} ms, max ${Math.round(result.dispatch.max)} ms; controller connections ${result.controllerConnections.total} (${result.controllerConnections.blocking} blocking)`);
        results.push(result);
      }
    } finally {
      await controller.stop();
    }
    const loadAtEnd = loadAverage();
    const connections = results[results.length - 1]?.controllerConnections.clients ?? [];
    process.stdout.write(
      [
        formatTable(results),
        '',
        `dispatch = the tick's due time to the moment a simulated agent saw the host's job (spread 0); enqueued = due time to BullMQ's job timestamp;`,
        `tick = the controller's tick handler: started after the due time, took, the controller's CPU time meanwhile. Controller connections after the last tick: ${connections.map((client) => `${client.name} (${client.cmd})`).join(', ')}`,
        `simulated agents: ${options.agentConnections} blocking connections; load average ${loadAtStart.toFixed(2)} at start, ${loadAtEnd.toFixed(2)} at end, ${os.cpus().length} CPUs; bench ${((performance.now() - startedAt) / 1000).toFixed(0)} s`,
        '',
      ].join('\n'),
    );
    if (options.json) {
      const summary = results.map(({ controllerConnections, ...rest }) => ({ ...rest, controllerConnections: { total: controllerConnections.total, blocking: controllerConnections.blocking, names: controllerConnections.clients.map((client) => client.name) } }));
      process.stdout.write(`${JSON.stringify({ cpus: os.cpus().length, loadAverage: { start: loadAtStart, end: loadAtEnd }, options, results: summary })}\n`);
    }
  } finally {
    await database?.drop();
    await stack?.stop();
    await fs.rm(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`fleet bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
