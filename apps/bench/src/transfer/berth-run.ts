/**
 * One Berth backup as an operator starts it: POST /hosts/:id/backups, then the run until it succeeded. The
 * time is the controller's finishedAt minus the moment before the POST (same clock, so the poll interval does
 * not count). The services' logs give the timeline in between; /proc gives each process' CPU and I/O.
 */
import { type RunCounters, type RunResponse, TERMINAL_RUN_STATUSES } from '@berth/contracts';
import { type BerthUnderTest } from './berth-fleet';
import { diffSamples, machineBusySeconds, otherLoad, type ProcSample, sampleProcess } from './proc-stats';

/** The poll only tells when to go on (the time comes from finishedAt): rare enough not to load the controller. */
const POLL_MS = 250;
const RUN_TIMEOUT_MS = 15 * 60_000;

/** Milliseconds after the trigger at which each step was logged; null when the line was not found. */
export interface BerthTimeline {
  readonly created: number | null;
  /** The agent took the job and told the controller (queue pickup + runStart). */
  readonly agentStarted: number | null;
  /** The receiver verified the session with the controller and admitted it. */
  readonly sessionStarted: number | null;
  /** The receiver saw the session close (after Done). */
  readonly sessionEnded: number | null;
  readonly finished: number;
}

export interface BerthRun {
  readonly runId: string;
  readonly snapshotId: string | null;
  readonly seconds: number;
  readonly counters: RunCounters;
  /** Framed bytes the receiver read from the agent and wrote to it (its session log line). */
  readonly wireIn: number | null;
  readonly wireOut: number | null;
  readonly timeline: BerthTimeline;
  readonly cpu: { readonly agent: number; readonly receiver: number; readonly controller: number };
  /** Minor page faults of each process during the run (see ProcSample). */
  readonly minorFaults: { readonly agent: number; readonly receiver: number; readonly controller: number };
  readonly io: { readonly agent: ProcSample; readonly receiver: ProcSample };
  /** CPUs busy with other work meanwhile (see otherLoad). */
  readonly otherLoad: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function runBerthBackup(berth: BerthUnderTest): Promise<BerthRun> {
  const pids = berth.pids();
  const before = { agent: sampleProcess(pids.agent), receiver: sampleProcess(pids.receiver), controller: sampleProcess(pids.controller) };
  const busyBefore = machineBusySeconds();
  const triggered = Date.now();
  const queued = await berth.api.startBackup(berth.hostId);
  let run: RunResponse = queued;
  while (!TERMINAL_RUN_STATUSES.includes(run.status)) {
    if (Date.now() - triggered > RUN_TIMEOUT_MS) throw new Error(`run ${run.id} still ${run.status} after ${RUN_TIMEOUT_MS / 60_000} minutes`);
    await sleep(POLL_MS);
    run = await berth.api.getRun(queued.id);
  }
  const after = { agent: sampleProcess(pids.agent), receiver: sampleProcess(pids.receiver), controller: sampleProcess(pids.controller) };
  const busyAfter = machineBusySeconds();
  const observedSeconds = (Date.now() - triggered) / 1000;
  if (run.status !== 'succeeded') {
    const tail = (text: string): string => text.trim().split('\n').slice(-15).join('\n');
    throw new Error(
      `Berth run ${run.id} ended ${run.status}: ${run.error ?? 'no error given'}\nagent log:\n${tail(await berth.agentLog())}\nreceiver log:\n${tail(await berth.receiverLog())}`,
    );
  }
  const finishedAt = Date.parse(run.finishedAt ?? new Date().toISOString());
  // The receiver logs the session's end once the agent has closed it, which may come just after the run's end.
  let receiverLog = await berth.receiverLog();
  for (let i = 0; i < 40 && sessionEnd(receiverLog, run.id) === null; i++) {
    await sleep(POLL_MS);
    receiverLog = await berth.receiverLog();
  }
  const agentLog = await berth.agentLog();
  const session = sessionEnd(receiverLog, run.id);
  const delta = { agent: diffSamples(after.agent, before.agent), receiver: diffSamples(after.receiver, before.receiver), controller: diffSamples(after.controller, before.controller) };
  const cpu = { agent: delta.agent.cpu, receiver: delta.receiver.cpu, controller: delta.controller.cpu };
  const at = (iso: string | null): number | null => (iso === null ? null : Date.parse(iso) - triggered);
  return {
    runId: run.id,
    snapshotId: run.snapshotId,
    seconds: (finishedAt - triggered) / 1000,
    counters: run.counters,
    wireIn: session?.bytesIn ?? null,
    wireOut: session?.bytesOut ?? null,
    timeline: {
      created: at(run.createdAt),
      agentStarted: at(lineTime(agentLog, new RegExp(`run ${run.id}: backup attempt \\d+ of .* started`))),
      sessionStarted: at(lineTime(receiverLog, new RegExp(`session \\S+ start host=\\S+ run=${run.id} role=backup`))),
      sessionEnded: at(session?.time ?? null),
      finished: finishedAt - triggered,
    },
    cpu,
    minorFaults: { agent: delta.agent.minorFaults, receiver: delta.receiver.minorFaults, controller: delta.controller.minorFaults },
    io: { agent: delta.agent, receiver: delta.receiver },
    otherLoad: otherLoad(busyBefore, busyAfter, cpu.agent + cpu.receiver + cpu.controller, observedSeconds),
  };
}

/** ISO timestamp at the start of the last log line matching `pattern`. */
function lineTime(log: string, pattern: RegExp): string | null {
  let found: string | null = null;
  for (const line of log.split('\n')) {
    if (!pattern.test(line)) continue;
    const stamp = /^(\d{4}-\d\d-\d\dT[\d:.]+Z)/.exec(line)?.[1];
    if (stamp !== undefined) found = stamp;
  }
  return found;
}

function sessionEnd(log: string, runId: string): { time: string | null; bytesIn: number; bytesOut: number } | null {
  const pattern = new RegExp(`session \\S+ end host=\\S+ run=${runId} role=backup reason=ok.* bytesIn=(\\d+) bytesOut=(\\d+)`);
  let found: { time: string | null; bytesIn: number; bytesOut: number } | null = null;
  for (const line of log.split('\n')) {
    const match = pattern.exec(line);
    if (match === null) continue;
    found = { time: /^(\d{4}-\d\d-\d\dT[\d:.]+Z)/.exec(line)?.[1] ?? null, bytesIn: Number(match[1]), bytesOut: Number(match[2]) };
  }
  return found;
}
