import { AGENT_API, type ApiErrorBody, type BackupJobData, type FileErrorPage, type RestoreJobData, RUN_JOB_DEFAULTS, type RunFinishRequest, type RunResponse, type SnapshotResponse } from '@berth/contracts';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { RunRepository } from '../src/repositories/run.repository';
import { completeBackup, enrolledHost, publishedSnapshot, triggerBackup } from './support/agent-client';
import { type ControllerHarness, startController } from './support/controller-app';

// Each suite clones a database and boots the whole app; Jest's default 5 s is tight on a shared 2-core machine.
jest.setTimeout(30_000);

describe('runs, snapshots and restores', () => {
  let controller: ControllerHarness;

  beforeAll(async () => {
    controller = await startController();
  });
  afterAll(async () => {
    await controller.close();
  });

  it('queues a backup: a queued run and a BullMQ job whose id is the run id', async () => {
    const agent = await enrolledHost(controller, 'backup', ['/srv', '/etc']);
    const run = await triggerBackup(controller, agent);
    expect(run).toMatchObject({ hostId: agent.hostId, hostName: agent.hostName, kind: 'backup', status: 'queued', attempts: 0, startedAt: null, restore: null });

    const job = await controller.job(agent.hostId, run.id);
    expect(job?.id).toBe(run.id);
    expect(job?.name).toBe('backup');
    const expected: BackupJobData = { kind: 'backup', runId: run.id, hostId: agent.hostId, paths: ['/srv', '/etc'], excludes: [] };
    expect(job?.data).toEqual(expected);
    expect(job?.opts).toMatchObject({ attempts: RUN_JOB_DEFAULTS.attempts, backoff: RUN_JOB_DEFAULTS.backoff });
  });

  it('answers a trigger with the run exactly as GET /runs/:id shows it, queued (as the insert returned it, before its job is queued)', async () => {
    const agent = await enrolledHost(controller, 'answer', ['/srv']);
    const run = await triggerBackup(controller, agent);
    const shown = (await controller.api.get(`/runs/${run.id}`).expect(200)).body as RunResponse;
    expect(run).toEqual(shown);
    expect(run).toMatchObject({ hostName: agent.hostName, snapshotId: null, attemptHistory: [] });
  });

  it('refuses a second backup while one is queued, naming the run', async () => {
    const agent = await enrolledHost(controller, 'double');
    const run = await triggerBackup(controller, agent);
    const error = (await controller.api.post(`/hosts/${agent.hostId}/backups`).expect(409)).body as ApiErrorBody;
    expect(error.code).toBe('run_in_progress');
    expect(error.message).toContain(run.id);
    const runs = (await controller.api.get(`/runs?hostId=${agent.hostId}`).expect(200)).body as RunResponse[];
    expect(runs.map((listed) => listed.id)).toEqual([run.id]);
  });

  it('creates a run in the repository only for a host that exists and has no active backup', async () => {
    const runs = controller.app.get(RunRepository);
    const agent = await enrolledHost(controller, 'repository');
    const first = await runs.createBackupRunUnlessActive(agent.hostId);
    if (first === null || !('created' in first)) throw new Error(`expected a new run, got ${JSON.stringify(first)}`);
    expect(first.created).toMatchObject({ hostId: agent.hostId, kind: 'backup', status: 'queued', attempts: 0, host: { name: agent.hostName }, snapshot: null, attemptHistory: [] });
    expect(first.created.filesTotal).toBe(0n);
    expect(await runs.createBackupRunUnlessActive(agent.hostId)).toEqual({ active: { id: first.created.id, hostId: agent.hostId, status: 'queued' } });
    expect(await runs.createBackupRunUnlessActive(randomUUID())).toBeNull();
    const rows = await controller.sql('SELECT count(*)::int AS n FROM runs WHERE host_id = $1', [agent.hostId]);
    expect(rows[0]?.['n']).toBe(1);
  });

  it('lets only one of many concurrent triggers through', async () => {
    const agent = await enrolledHost(controller, 'race');
    const statuses = await Promise.all(Array.from({ length: 6 }, async () => (await controller.api.post(`/hosts/${agent.hostName}/backups`)).status));
    expect(statuses.filter((status) => status === 202)).toHaveLength(1);
    expect(statuses.filter((status) => status === 409)).toHaveLength(5);
  });

  it('lists runs newest first with filters and a limit', async () => {
    const agent = await enrolledHost(controller, 'listing');
    const first = await completeBackup(controller, agent);
    const second = await triggerBackup(controller, agent);
    const byName = (await controller.api.get(`/runs?host=${agent.hostName}`).expect(200)).body as RunResponse[];
    expect(byName.map((run) => run.id)).toEqual([second.id, first.id]);
    const queued = (await controller.api.get(`/runs?host=${agent.hostName}&status=queued`).expect(200)).body as RunResponse[];
    expect(queued.map((run) => run.id)).toEqual([second.id]);
    const limited = (await controller.api.get(`/runs?hostId=${agent.hostId}&limit=1`).expect(200)).body as RunResponse[];
    expect(limited.map((run) => run.id)).toEqual([second.id]);
    const all = (await controller.api.get('/runs').expect(200)).body as RunResponse[];
    expect(all.length).toBeGreaterThanOrEqual(2);
  });

  it('keeps the phases an agent measured and pages through every file error of a run', async () => {
    const agent = await enrolledHost(controller, 'errors');
    const run = await triggerBackup(controller, agent);
    await request(controller.http).post(AGENT_API.runStart(run.id)).set(agent.auth).expect(200);
    const fileErrors = Array.from({ length: 250 }, (_, i) => ({ path: `/srv/f${String(i).padStart(3, '0')}`, message: 'EACCES: permission denied' }));
    const phases: RunFinishRequest['phases'] = [
      { name: 'prepare', startedAt: '2026-11-25T10:00:00.000Z', endedAt: '2026-11-25T10:00:00.100Z' },
      { name: 'connect', startedAt: '2026-11-25T10:00:00.100Z', endedAt: '2026-11-25T10:00:00.120Z' },
      { name: 'transfer', startedAt: '2026-11-25T10:00:00.120Z', endedAt: '2026-11-25T10:00:09.000Z' },
    ];
    const finish: RunFinishRequest = { status: 'partial', counters: { filesTotal: 300, filesDone: 300 }, snapshot: publishedSnapshot(), fileErrors, phases };
    const finished = (await request(controller.http).post(AGENT_API.runFinish(run.id)).set(agent.auth).send(finish).expect(200)).body as RunResponse;

    const shown = (await controller.api.get(`/runs/${run.id}`).expect(200)).body as RunResponse;
    expect(shown.fileErrors.map((error) => error.path)).toEqual(fileErrors.slice(0, 100).map((error) => error.path));
    expect(shown.attemptHistory[0]?.phases).toEqual(phases);
    // GET /runs/:id reads the run in one statement of its own; the finish answer is read through Prisma's include.
    expect(shown.snapshotId).not.toBeNull();
    expect({ ...shown, fileErrors: [] }).toEqual({ ...finished, fileErrors: [] });

    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    do {
      const page: FileErrorPage = (await controller.api.get(`/runs/${run.id}/file-errors?limit=100${after === null ? '' : `&after=${after}`}`).expect(200)).body as FileErrorPage;
      seen.push(...page.errors.map((error) => error.path));
      after = page.nextAfter;
      pages += 1;
    } while (after !== null);
    expect(seen).toEqual(fileErrors.map((error) => error.path));
    expect(pages).toBe(3);

    const badAfter = (await controller.api.get(`/runs/${run.id}/file-errors?after=-1`).expect(400)).body as ApiErrorBody;
    expect(badAfter.details?.join('\n')).toMatch(/after/);
    await controller.api.get('/runs/00000000-0000-4000-8000-000000000000/file-errors').expect(404);
  });

  it('refuses phases that are not phases', async () => {
    const agent = await enrolledHost(controller, 'badphase');
    const run = await triggerBackup(controller, agent);
    await request(controller.http).post(AGENT_API.runStart(run.id)).set(agent.auth).expect(200);
    const finish = { status: 'failed', counters: {}, error: 'x', phases: [{ name: 'sleeping', startedAt: 'yesterday', endedAt: '2026-11-25T10:00:00.000Z' }] };
    const refused = (await request(controller.http).post(AGENT_API.runFinish(run.id)).set(agent.auth).send(finish).expect(400)).body as ApiErrorBody;
    expect(refused.details?.join('\n')).toMatch(/phases\.0\.name/);
    expect(refused.details?.join('\n')).toMatch(/phases\.0\.startedAt/);
  });

  it('validates run queries and ids', async () => {
    const badQuery = (await controller.api.get('/runs?hostId=not-a-uuid&limit=500').expect(400)).body as ApiErrorBody;
    expect(badQuery.details).toEqual(['hostId must be a UUID', 'limit must not be greater than 200']);
    expect(((await controller.api.get('/runs?host=nobody-here').expect(404)).body as ApiErrorBody).code).toBe('host_not_found');
    expect(((await controller.api.get('/runs/not-a-uuid').expect(404)).body as ApiErrorBody).code).toBe('run_not_found');
    expect(((await controller.api.get('/runs/00000000-0000-4000-8000-000000000000').expect(404)).body as ApiErrorBody).code).toBe('run_not_found');
    expect(((await controller.api.post('/hosts/nobody-here/backups').expect(404)).body as ApiErrorBody).code).toBe('host_not_found');
  });

  it('lists snapshots newest first and queues a restore on the snapshot host', async () => {
    const agent = await enrolledHost(controller, 'snap');
    const older = await completeBackup(controller, agent);
    const newer = await completeBackup(controller, agent);
    const snapshots = (await controller.api.get(`/hosts/${agent.hostName}/snapshots`).expect(200)).body as SnapshotResponse[];
    expect(snapshots.map((snapshot) => snapshot.runId)).toEqual([newer.id, older.id]);
    expect(snapshots[0]).toMatchObject({ id: newer.snapshotId, hostId: agent.hostId, hostName: agent.hostName, stats: { files: 3, dirs: 1, bytes: 300, bytesSent: 300, bytesStored: 200 } });

    const snapshotId = snapshots[0]?.id ?? '';
    const restore = (await controller.api.post(`/snapshots/${snapshotId}/restore`).send({ targetDir: '/tmp/restore//here/', subPath: '/etc' }).expect(202)).body as RunResponse;
    expect(restore).toMatchObject({ kind: 'restore', status: 'queued', hostId: agent.hostId, restore: { snapshotId, targetDir: '/tmp/restore/here', subPath: '/etc' } });
    const job = await controller.job(agent.hostId, restore.id);
    const expected: RestoreJobData = { kind: 'restore', runId: restore.id, hostId: agent.hostId, snapshotId, targetDir: '/tmp/restore/here', subPath: '/etc' };
    expect(job?.name).toBe('restore');
    expect(job?.data).toEqual(expected);
  });

  it('queues a restore on another host given by name', async () => {
    const source = await enrolledHost(controller, 'source');
    const target = await enrolledHost(controller, 'target');
    const backup = await completeBackup(controller, source);
    const restore = (await controller.api.post(`/snapshots/${backup.snapshotId ?? ''}/restore`).send({ targetHost: target.hostName, targetDir: '/restore' }).expect(202)).body as RunResponse;
    expect(restore).toMatchObject({ hostId: target.hostId, hostName: target.hostName, restore: { snapshotId: backup.snapshotId, targetDir: '/restore', subPath: null } });
    expect((await controller.job(target.hostId, restore.id))?.data.hostId).toBe(target.hostId);
  });

  it('validates restore requests', async () => {
    const agent = await enrolledHost(controller, 'restorebad');
    const backup = await completeBackup(controller, agent);
    const relative = (await controller.api.post(`/snapshots/${backup.snapshotId ?? ''}/restore`).send({ targetDir: 'out' }).expect(400)).body as ApiErrorBody;
    expect(relative.details).toEqual(['targetDir must be an absolute path (starting with /)']);
    const unknownHost = (await controller.api.post(`/snapshots/${backup.snapshotId ?? ''}/restore`).send({ targetDir: '/out', targetHost: 'nobody-here' }).expect(404)).body as ApiErrorBody;
    expect(unknownHost.code).toBe('host_not_found');
    const unknownSnapshot = (await controller.api.post('/snapshots/00000000-0000-4000-8000-000000000000/restore').send({ targetDir: '/out' }).expect(404)).body as ApiErrorBody;
    expect(unknownSnapshot.code).toBe('snapshot_not_found');
    expect(((await controller.api.get('/hosts/nobody-here/snapshots').expect(404)).body as ApiErrorBody).code).toBe('host_not_found');
  });
});
