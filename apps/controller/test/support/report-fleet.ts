import { AGENT_API, type RunFinishRequest, type RunResponse } from '@berth/contracts';
import { randomUUID } from 'node:crypto';
import { type EnrolledAgent, triggerBackup } from './agent-client';
import { type ControllerHarness } from './controller-app';

const HOUR_MS = 3_600_000;

export interface SeededBackup {
  /** Snapshot publication time, hours before now (as the receiver reports it). */
  publishedHoursAgo: number;
  files: number;
  bytes: number;
  bytesSent: number;
  bytesStored: number;
  /** The run's wall time, set on the row after the fact (the API times runs by the clock). */
  durationSeconds: number;
}

/** A backup run through the agent API that publishes a snapshot of the given age and size. */
export async function seedBackup(controller: ControllerHarness, agent: EnrolledAgent, backup: SeededBackup): Promise<RunResponse> {
  const run = await triggerBackup(controller, agent);
  await controller.api.post(AGENT_API.runStart(run.id)).set(agent.auth).expect(200);
  const finish: RunFinishRequest = {
    status: 'succeeded',
    counters: { filesTotal: backup.files, filesDone: backup.files, bytesTotal: backup.bytes, bytesDone: backup.bytes, bytesSent: backup.bytesSent, bytesStored: backup.bytesStored },
    snapshot: {
      id: randomUUID(),
      rootTree: `tree-${randomUUID()}`,
      stats: { files: backup.files, dirs: 1, bytes: backup.bytes, bytesSent: backup.bytesSent, bytesStored: backup.bytesStored },
      publishedAt: new Date(Date.now() - backup.publishedHoursAgo * HOUR_MS).toISOString(),
    },
  };
  const finished = (await controller.api.post(AGENT_API.runFinish(run.id)).set(agent.auth).send(finish).expect(200)).body as RunResponse;
  await controller.sql(`UPDATE runs SET started_at = finished_at - make_interval(secs => $2) WHERE id = $1`, [run.id, backup.durationSeconds]);
  return finished;
}

/** A backup run whose only attempt fails for good. */
export async function seedFailedBackup(controller: ControllerHarness, agent: EnrolledAgent, error: string): Promise<RunResponse> {
  const run = await triggerBackup(controller, agent);
  await controller.api.post(AGENT_API.runStart(run.id)).set(agent.auth).expect(200);
  const finish: RunFinishRequest = { status: 'failed', counters: { filesDone: 1, bytesSent: 10 }, error };
  return (await controller.api.post(AGENT_API.runFinish(run.id)).set(agent.auth).send(finish).expect(200)).body as RunResponse;
}
