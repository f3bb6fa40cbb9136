import { type FleetHostRow } from '../repositories/report.repository';
import { fleetTotals, mapFleetHost } from './report.dto';

const NOW = new Date('2026-11-25T12:00:00.000Z');

function row(overrides: Partial<FleetHostRow>): FleetHostRow {
  return {
    hostId: '5d1c1f52-0a43-4c38-9d0a-3c7a2c9d8e11',
    hostName: 'web-1',
    hostStatus: 'online',
    lastSeenAt: null,
    snapshotId: '11111111-1111-4111-8111-111111111111',
    snapshotRunId: '22222222-2222-4222-8222-222222222222',
    publishedAt: new Date(NOW.getTime() - 26 * 3_600_000),
    files: 10n,
    bytes: 4096n,
    bytesSent: 1024n,
    bytesStored: 512n,
    successStatus: 'succeeded',
    successStartedAt: new Date('2026-11-24T09:59:58.000Z'),
    successFinishedAt: new Date('2026-11-24T10:00:00.000Z'),
    lastRunId: '22222222-2222-4222-8222-222222222222',
    lastRunStatus: 'succeeded',
    lastRunCreatedAt: new Date('2026-11-24T09:59:57.000Z'),
    lastRunFinishedAt: new Date('2026-11-24T10:00:00.000Z'),
    lastRunError: null,
    snapshotCount: 3n,
    bytesStoredTotal: 2048n,
    ...overrides,
  };
}

describe('fleet report mapping', () => {
  it('breaches only past the objective: a snapshot exactly rpoHours old is still within it', () => {
    expect(mapFleetHost(row({}), 26, NOW)).toMatchObject({ breachesRpo: false, lastSnapshot: { ageSeconds: 26 * 3600 } });
    expect(mapFleetHost(row({ publishedAt: new Date(NOW.getTime() - 26 * 3_600_000 - 1_000) }), 26, NOW).breachesRpo).toBe(true);
    expect(mapFleetHost(row({}), 25.5, NOW).breachesRpo).toBe(true);
  });

  it('counts a snapshot published after the report time (clock skew) as age 0', () => {
    expect(mapFleetHost(row({ publishedAt: new Date(NOW.getTime() + 5_000) }), 26, NOW).lastSnapshot?.ageSeconds).toBe(0);
  });

  it('gives the rate over the run duration, and none when the duration is unknown or zero', () => {
    expect(mapFleetHost(row({}), 26, NOW).lastSuccessfulRun).toMatchObject({ durationMs: 2_000, bytesPerSecond: 2048 });
    expect(mapFleetHost(row({ successStartedAt: null }), 26, NOW).lastSuccessfulRun).toMatchObject({ durationMs: null, bytesPerSecond: null });
    expect(mapFleetHost(row({ successStartedAt: new Date('2026-11-24T10:00:00.000Z') }), 26, NOW).lastSuccessfulRun).toMatchObject({ durationMs: 0, bytesPerSecond: null });
  });

  it('maps a host never backed up to nulls that breach, and totals what the lines say', () => {
    const never = mapFleetHost(
      row({ hostName: 'new', snapshotId: null, snapshotRunId: null, publishedAt: null, files: null, bytes: null, bytesSent: null, bytesStored: null, successStatus: null, successStartedAt: null, successFinishedAt: null, lastRunId: null, lastRunStatus: null, lastRunCreatedAt: null, lastRunFinishedAt: null, snapshotCount: 0n, bytesStoredTotal: 0n }),
      26,
      NOW,
    );
    expect(never).toMatchObject({ breachesRpo: true, lastSnapshot: null, lastSuccessfulRun: null, lastRun: null, snapshots: 0 });
    const failed = mapFleetHost(row({ lastRunId: '33333333-3333-4333-8333-333333333333', lastRunStatus: 'canceled', lastRunError: 'canceled by the operator' }), 26, NOW);
    expect(fleetTotals([mapFleetHost(row({}), 26, NOW), never, failed])).toEqual({
      hosts: 3,
      protected: 2,
      breaching: 1,
      neverBackedUp: 1,
      lastRunFailed: 1,
      snapshots: 6,
      bytesProtected: 8192,
      bytesStored: 4096,
      lastRunsBytesSent: 2048,
    });
  });
});
