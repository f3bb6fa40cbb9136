import { AGENT_API, type RunAttemptResponse, type RunFinishRequest, type RunProgressRequest, type RunResponse, type RunStartResponse } from '@berth/contracts';
import { type EnrolledAgent, enrolledHost, publishedSnapshot, triggerBackup } from './support/agent-client';
import { type ControllerHarness, startController } from './support/controller-app';

jest.setTimeout(30_000);

const ABANDONED = 'abandoned: no report from the agent (it was killed or lost its connection)';

// Attempts as the agent API records them: a start opens one, a finish closes it, and a start that finds the
// previous attempt still open (its agent was killed) closes that one as abandoned.
describe('run attempts', () => {
  let controller: ControllerHarness;

  beforeAll(async () => {
    controller = await startController();
  });
  afterAll(async () => {
    await controller.close();
  });

  const start = async (agent: EnrolledAgent, runId: string): Promise<RunStartResponse> =>
    (await controller.api.post(AGENT_API.runStart(runId)).set(agent.auth).expect(200)).body as RunStartResponse;
  const progress = async (agent: EnrolledAgent, runId: string, report: RunProgressRequest): Promise<void> => {
    await controller.api.post(AGENT_API.runProgress(runId)).set(agent.auth).send(report).expect(200);
  };
  const finish = async (agent: EnrolledAgent, runId: string, report: RunFinishRequest): Promise<RunResponse> =>
    (await controller.api.post(AGENT_API.runFinish(runId)).set(agent.auth).send(report).expect(200)).body as RunResponse;
  const attemptsOf = async (runId: string): Promise<RunAttemptResponse[]> => ((await controller.api.get(`/runs/${runId}`).expect(200)).body as RunResponse).attemptHistory;

  it('records each attempt: resume point, bytes, outcome, and why it ended', async () => {
    const agent = await enrolledHost(controller, 'attempts');
    const run = await triggerBackup(controller, agent);
    expect(run.attemptHistory).toEqual([]);

    const before = Date.now();
    expect((await start(agent, run.id)).attempt).toBe(1);
    const [opened] = await attemptsOf(run.id);
    expect(opened).toMatchObject({ number: 1, endedAt: null, outcome: null, endReason: null, resumedFrom: null, bytesSent: 0, bytesResent: null });
    expect(Date.parse(opened?.startedAt ?? '')).toBeGreaterThanOrEqual(before - 1000);

    await progress(agent, run.id, { counters: { bytesSent: 4096 }, checkpoint: '/srv/a' });
    const retried = await finish(agent, run.id, { status: 'failed', counters: { bytesSent: 5000 }, error: 'receiver_unavailable: connection to receiver lost: ECONNRESET', willRetry: true });
    expect(retried.status).toBe('queued');
    expect(retried.attemptHistory).toEqual([
      expect.objectContaining({ number: 1, outcome: 'failed', endReason: 'receiver_unavailable: connection to receiver lost: ECONNRESET', resumedFrom: null, bytesSent: 5000 }),
    ]);
    // Stored as the same instant whatever the time zone of the controller or the database session.
    expect(Math.abs(Date.parse(retried.attemptHistory[0]?.endedAt ?? '') - Date.now())).toBeLessThan(5_000);

    // Attempt 2 resumes from the checkpoint attempt 1 reached; the agent reports what it re-sent.
    expect((await start(agent, run.id)).attempt).toBe(2);
    await progress(agent, run.id, { counters: { bytesSent: 100 }, checkpoint: '/srv/b', bytesResent: 60 });
    const stopped = await finish(agent, run.id, { status: 'failed', counters: { bytesSent: 300 }, error: 'interrupted: backup interrupted: the agent is stopping', willRetry: true });
    expect(stopped.attemptHistory[1]).toMatchObject({ number: 2, resumedFrom: '/srv/a', outcome: 'failed', endReason: 'interrupted: backup interrupted: the agent is stopping', bytesSent: 300, bytesResent: 60 });

    const third = await start(agent, run.id);
    expect(third.attempt).toBe(3);
    const done = await finish(agent, run.id, { status: 'succeeded', counters: { bytesSent: 700 }, snapshot: publishedSnapshot() });
    expect(done.attempts).toBe(3);
    expect(done.attemptHistory.map((attempt) => [attempt.number, attempt.outcome, attempt.resumedFrom, attempt.bytesSent, attempt.endReason])).toEqual([
      [1, 'failed', null, 5000, 'receiver_unavailable: connection to receiver lost: ECONNRESET'],
      [2, 'failed', '/srv/a', 300, 'interrupted: backup interrupted: the agent is stopping'],
      [3, 'succeeded', '/srv/b', 700, null],
    ]);
    const rows = await controller.sql('SELECT number, ended_at IS NOT NULL AS ended FROM run_attempts WHERE run_id = $1 ORDER BY number', [run.id]);
    expect(rows).toEqual([
      { number: 1, ended: true },
      { number: 2, ended: true },
      { number: 3, ended: true },
    ]);
  });

  it('closes an attempt the agent never reported on as abandoned when the next one starts, at its last report', async () => {
    const agent = await enrolledHost(controller, 'abandoned');
    const run = await triggerBackup(controller, agent);
    await start(agent, run.id);
    await progress(agent, run.id, { counters: { bytesSent: 1234, filesDone: 7 }, checkpoint: '/srv/one' });
    const lastReport = Date.now();
    // The agent was killed here: no finish report. Its job runs again; the new agent process starts attempt 2.
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    const second = await start(agent, run.id);
    expect(second.attempt).toBe(2);

    const [first, current] = await attemptsOf(run.id);
    expect(first).toMatchObject({ number: 1, outcome: 'abandoned', endReason: ABANDONED, bytesSent: 1234, resumedFrom: null });
    // It ended when it was last heard of, not when the next attempt noticed.
    const endedAt = Date.parse(first?.endedAt ?? '');
    expect(endedAt).toBeLessThanOrEqual(lastReport + 100);
    expect(endedAt).toBeGreaterThanOrEqual(Date.parse(first?.startedAt ?? ''));
    expect(current).toMatchObject({ number: 2, outcome: null, endedAt: null, resumedFrom: '/srv/one' });
    const [open] = await controller.sql('SELECT count(*)::int AS open FROM run_attempts WHERE run_id = $1 AND ended_at IS NULL', [run.id]);
    expect(open).toEqual({ open: 1 });

    const partial = await finish(agent, run.id, { status: 'partial', counters: { bytesSent: 10 }, fileErrors: [{ path: '/srv/x', message: 'EACCES' }], snapshot: publishedSnapshot() });
    expect(partial.attemptHistory.map((attempt) => attempt.outcome)).toEqual(['abandoned', 'partial']);
  });

  it('leaves exactly one attempt open when starts of the same run race (each sees the one before it)', async () => {
    const agent = await enrolledHost(controller, 'racing-starts');
    const run = await triggerBackup(controller, agent);
    const numbers = (await Promise.all(Array.from({ length: 6 }, async () => start(agent, run.id)))).map((started) => started.attempt);
    expect([...numbers].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6]);

    const attempts = await attemptsOf(run.id);
    expect(attempts.map((attempt) => [attempt.number, attempt.outcome])).toEqual([
      [1, 'abandoned'],
      [2, 'abandoned'],
      [3, 'abandoned'],
      [4, 'abandoned'],
      [5, 'abandoned'],
      [6, null],
    ]);
    const [open] = await controller.sql('SELECT count(*)::int AS open FROM run_attempts WHERE run_id = $1 AND ended_at IS NULL', [run.id]);
    expect(open).toEqual({ open: 1 });
    const [row] = await controller.sql('SELECT status::text AS status, attempts FROM runs WHERE id = $1', [run.id]);
    expect(row).toEqual({ status: 'running', attempts: 6 });
  });

  it('lists runs with their attempts', async () => {
    const agent = await enrolledHost(controller, 'listed');
    const run = await triggerBackup(controller, agent);
    await start(agent, run.id);
    const listed = (await controller.api.get(`/runs?hostId=${agent.hostId}`).expect(200)).body as RunResponse[];
    expect(listed.map((item) => item.attemptHistory.map((attempt) => attempt.number))).toEqual([[1]]);
  });
});
