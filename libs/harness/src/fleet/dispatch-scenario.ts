import { type GroupResponse, QUEUE_PREFIX } from '@berth/contracts';
import { Redis } from 'ioredis';
import os from 'node:os';
import { Client } from 'pg';
import { type ControllerHandle } from '../services/controller';
import { type HarnessApi } from './harness-api';
import { controllerRedisClients, type RedisClientInfo } from './redis-clients';
import { type JobSighting, SimulatedAgents } from './simulated-agents';

export interface DispatchScenario {
  /** A running controller (a real process) on `databaseUrl` and `redisUrl`. */
  readonly controller: ControllerHandle;
  readonly api: HarnessApi;
  readonly databaseUrl: string;
  readonly redisUrl: string;
}

export interface DispatchOptions {
  readonly hosts: number;
  /** Names the group and its hosts ([a-z0-9-]); unique per call on one database. */
  readonly label: string;
  /** Blocking connections of the simulated agents; default 16. */
  readonly agentConnections?: number;
  /** How long to wait for every job to be seen; default 30 s. */
  readonly timeoutMs?: number;
}

export interface LatencySummary {
  readonly count: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

export interface DispatchMeasurement {
  readonly hosts: number;
  readonly runsQueued: number;
  /** When the tick was due (the cron occurrence): the start of every latency below. */
  readonly dueAt: Date;
  /** Due time to the moment a simulated agent's wake-up returned with the job, in ms, per host. */
  readonly dispatch: LatencySummary;
  /** Due time to the moment BullMQ stamped the job (the controller's side of it), in ms. */
  readonly enqueued: LatencySummary;
  /**
   * As the controller logged it: how late its tick handler started, how long it took, and the CPU time the
   * controller process used meanwhile; null if not logged.
   */
  readonly tick: { readonly startedAfterMs: number; readonly tookMs: number; readonly cpuMs: number } | null;
  /** The controller's Redis connections just after every job was seen, and which of them block. */
  readonly controllerConnections: { readonly total: number; readonly blocking: number; readonly clients: readonly RedisClientInfo[] };
  readonly agentConnections: number;
}

/** Seconds between setting the schedule and its tick: enough for the API call and BullMQ to take it. */
const LEAD_MS = 2_500;

/**
 * One schedule tick of a group of `hosts` hosts, measured: the hosts are inserted straight into the database (set
 * up, not measured), simulated agents watch their queues, the group gets a schedule whose next occurrence is a
 * few seconds away (spread 0: every job is due at once), and each job's dispatch latency is taken from that
 * occurrence to the moment an agent saw it. The schedule is removed and the host queues deleted afterwards.
 */
export async function measureScheduleDispatch(scenario: DispatchScenario, options: DispatchOptions): Promise<DispatchMeasurement> {
  const group = await scenario.api.request<GroupResponse>('POST', '/groups', { name: options.label, paths: ['/srv'] });
  const hostIds = await insertHosts(scenario.databaseUrl, group.id, options.label, options.hosts);
  const agents = await SimulatedAgents.start({ redisUrl: scenario.redisUrl, hostIds, ...(options.agentConnections === undefined ? {} : { connections: options.agentConnections }) });
  try {
    const due = new Date(Math.ceil((Date.now() + LEAD_MS) / 1000) * 1000);
    const cron = `${due.getUTCSeconds()} ${due.getUTCMinutes()} ${due.getUTCHours()} * * *`;
    const scheduled = await scenario.api.request<GroupResponse>('PATCH', `/groups/${options.label}`, { schedule: { cron, timeZone: 'UTC', spreadSeconds: 0 } });
    const scheduleId = scheduled.schedule?.id ?? '';
    await agents.waitForHosts(options.hosts, options.timeoutMs ?? 30_000);
    const sightings = await agents.jobSightings();
    const clients = await controllerRedisClients(scenario.redisUrl, os.hostname(), scenario.controller.pid);
    const tick = await recordedTick(scenario.databaseUrl, scheduleId);
    await scenario.api.request('PATCH', `/groups/${options.label}`, { schedule: null });
    const dueAt = tick.firedAt;
    return {
      hosts: options.hosts,
      runsQueued: tick.runsQueued,
      dueAt,
      dispatch: summarize(sightings.map((sighting: JobSighting) => sighting.seenAt - dueAt.getTime())),
      enqueued: summarize(sightings.map((sighting: JobSighting) => sighting.availableAt - dueAt.getTime())),
      tick: loggedTick(await scenario.controller.logs(), scheduleId),
      controllerConnections: { total: clients.length, blocking: clients.filter((client) => client.blocking).length, clients },
      agentConnections: agents.blockingConnections,
    };
  } finally {
    await agents.stop();
    await deleteHostQueues(scenario.redisUrl, hostIds);
  }
}

/** Nearest-rank percentiles of `values` (ms). */
export function summarize(values: readonly number[]): LatencySummary {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
  return { count: sorted.length, p50: rank(50), p95: rank(95), p99: rank(99), max: sorted[sorted.length - 1] ?? Number.NaN };
}

async function insertHosts(databaseUrl: string, groupId: string, label: string, count: number): Promise<string[]> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const result = await client.query<{ id: string }>(
      `INSERT INTO hosts (id, name, paths, excludes, group_id, updated_at)
       SELECT gen_random_uuid(), $1 || '-' || lpad(i::text, 5, '0'), '{}', '{}', $2::uuid, now() FROM generate_series(1, $3::int) AS i
       RETURNING id`,
      [label, groupId, count],
    );
    return result.rows.map((row) => row.id);
  } finally {
    await client.end();
  }
}

async function recordedTick(databaseUrl: string, scheduleId: string): Promise<{ firedAt: Date; runsQueued: number }> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const { rows } = await client.query<{ fired_at: Date; runs_queued: number }>('SELECT fired_at, runs_queued FROM schedule_ticks WHERE schedule_id = $1 ORDER BY id LIMIT 1', [scheduleId]);
      const row = rows[0];
      if (row !== undefined) return { firedAt: row.fired_at, runsQueued: row.runs_queued };
      if (Date.now() > deadline) throw new Error(`schedule ${scheduleId}: no tick recorded`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    await client.end();
  }
}

/** The controller's log line of the tick (ScheduleTickService): "... started 12 ms after it was due, took 340 ms (process CPU 150 ms)". */
function loggedTick(log: string, scheduleId: string): { startedAfterMs: number; tookMs: number; cpuMs: number } | null {
  const line = log.split('\n').find((text) => text.includes(`Schedule ${scheduleId} tick`));
  const match = line === undefined ? null : /started (-?\d+) ms after it was due, took (\d+) ms \(process CPU (\d+) ms\)/.exec(line);
  return match === null ? null : { startedAfterMs: Number(match[1]), tookMs: Number(match[2]), cpuMs: Number(match[3]) };
}

/** Removes every key of the hosts' queues (the simulated agents never ran the jobs). */
async function deleteHostQueues(redisUrl: string, hostIds: readonly string[]): Promise<void> {
  const client = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await client.connect();
  try {
    const wanted = new Set(hostIds);
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${QUEUE_PREFIX}:host.*`, 'COUNT', 1000);
      cursor = next;
      const ours = keys.filter((key) => wanted.has(key.split(':')[1]?.slice('host.'.length) ?? ''));
      if (ours.length > 0) await client.del(...ours);
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
}
