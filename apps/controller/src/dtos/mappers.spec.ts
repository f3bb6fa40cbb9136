import { type HostRecord } from '../repositories/host.repository';
import { type RunRecord } from '../repositories/run.repository';
import { type SnapshotRecord } from '../repositories/snapshot.repository';
import { mapHost } from './host.dto';
import { mapRun } from './run.dto';
import { mapSnapshot } from './snapshot.dto';

const created = new Date('2026-11-25T10:00:00.000Z');

function host(overrides: Partial<HostRecord> = {}): HostRecord {
  return {
    id: 'h1',
    name: 'web1',
    paths: ['/srv'],
    excludes: ['*.tmp'],
    status: 'pending',
    lastSeenAt: null,
    enrollmentSecretHash: 'abc',
    createdAt: created,
    updatedAt: created,
    groupId: null,
    pausedAt: null,
    rpoBreachNotifiedAt: null,
    group: null,
    schedule: null,
    ...overrides,
  };
}

function run(overrides: Partial<RunRecord> = {}): RunRecord {
  return {
    id: 'r1',
    hostId: 'h1',
    host: { name: 'web1' },
    snapshot: null,
    kind: 'backup',
    status: 'running',
    attempts: 1,
    createdAt: created,
    startedAt: created,
    finishedAt: null,
    filesTotal: 10n,
    filesDone: 4n,
    bytesTotal: 2n ** 50n,
    bytesDone: 1024n,
    bytesSent: 512n,
    bytesStored: 256n,
    filesSkipped: 1n,
    fileErrorCount: 2n,
    error: null,
    checkpoint: '/srv/www',
    cancelRequestedAt: null,
    restoreSnapshotId: null,
    restoreTargetDir: null,
    restoreSubPath: null,
    updatedAt: created,
    attemptHistory: [],
    ...overrides,
  };
}

describe('mapHost', () => {
  it('reports enrolled once the enrollment secret is used, and ISO timestamps', () => {
    expect(mapHost(host())).toEqual({
      id: 'h1',
      name: 'web1',
      paths: ['/srv'],
      excludes: ['*.tmp'],
      status: 'pending',
      enrolled: false,
      lastSeenAt: null,
      createdAt: '2026-11-25T10:00:00.000Z',
      group: null,
      paused: false,
      schedule: null,
      effective: { paths: ['/srv'], excludes: ['*.tmp'], schedule: null, scheduleFrom: null, paused: false },
    });
    expect(mapHost(host({ enrollmentSecretHash: null, lastSeenAt: created, status: 'online' }))).toMatchObject({ enrolled: true, lastSeenAt: '2026-11-25T10:00:00.000Z', status: 'online' });
  });
});

describe('mapRun', () => {
  it('turns BigInt counters into numbers and names the host', () => {
    const response = mapRun(run());
    expect(response.counters).toEqual({ filesTotal: 10, filesDone: 4, bytesTotal: 2 ** 50, bytesDone: 1024, bytesSent: 512, bytesStored: 256, filesSkipped: 1, fileErrors: 2 });
    expect(response).toMatchObject({ hostName: 'web1', startedAt: '2026-11-25T10:00:00.000Z', finishedAt: null, checkpoint: '/srv/www', snapshotId: null, restore: null, fileErrors: [] });
  });

  it('shows restore details, the produced snapshot and file errors', () => {
    const restore = mapRun(run({ kind: 'restore', restoreSnapshotId: 's1', restoreTargetDir: '/tmp/out', restoreSubPath: null }));
    expect(restore.restore).toEqual({ snapshotId: 's1', targetDir: '/tmp/out', subPath: null });
    const finished = mapRun(run({ status: 'partial', snapshot: { id: 's2' } }), [{ id: 1n, runId: 'r1', path: '/srv/x', message: 'EACCES', createdAt: created }]);
    expect(finished.snapshotId).toBe('s2');
    expect(finished.fileErrors).toEqual([{ path: '/srv/x', message: 'EACCES' }]);
  });

  it('lists the attempts oldest first, an open one without outcome or end', () => {
    const later = new Date('2026-11-25T10:05:00.000Z');
    const attempt = { id: 1n, runId: 'r1', startedAt: created, lastReportAt: created, bytesResent: null, phases: [] };
    const response = mapRun(
      run({
        attempts: 2,
        attemptHistory: [
          { ...attempt, number: 1, endedAt: created, resumedFrom: null, bytesSent: 2n ** 40n, outcome: 'abandoned', endReason: 'abandoned: no report from the agent' },
          { ...attempt, id: 2n, number: 2, startedAt: later, endedAt: null, resumedFrom: '/srv/www', bytesSent: 10n, bytesResent: 7n, outcome: null, endReason: null, phases: [{ name: 'connect', startedAt: '2026-11-25T10:05:00.000Z', endedAt: '2026-11-25T10:05:00.020Z' }, { bogus: true }] },
        ],
      }),
    );
    expect(response.attempts).toBe(2);
    expect(response.attemptHistory).toEqual([
      { number: 1, startedAt: '2026-11-25T10:00:00.000Z', endedAt: '2026-11-25T10:00:00.000Z', outcome: 'abandoned', endReason: 'abandoned: no report from the agent', resumedFrom: null, bytesSent: 2 ** 40, bytesResent: null, phases: [] },
      { number: 2, startedAt: '2026-11-25T10:05:00.000Z', endedAt: null, outcome: null, endReason: null, resumedFrom: '/srv/www', bytesSent: 10, bytesResent: 7, phases: [{ name: 'connect', startedAt: '2026-11-25T10:05:00.000Z', endedAt: '2026-11-25T10:05:00.020Z' }] },
    ]);
  });
});

describe('mapSnapshot', () => {
  it('maps stats to numbers', () => {
    const snapshot: SnapshotRecord = { id: 's1', hostId: 'h1', host: { name: 'web1' }, runId: 'r1', rootTree: 'tree', files: 3n, dirs: 1n, bytes: 99n, bytesSent: 50n, bytesStored: 20n, publishedAt: created };
    expect(mapSnapshot(snapshot)).toEqual({
      id: 's1',
      hostId: 'h1',
      hostName: 'web1',
      runId: 'r1',
      rootTree: 'tree',
      stats: { files: 3, dirs: 1, bytes: 99, bytesSent: 50, bytesStored: 20 },
      publishedAt: '2026-11-25T10:00:00.000Z',
    });
  });
});
