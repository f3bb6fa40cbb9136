import { type FleetHostReport, type FleetReport, type HostHistoryResponse } from '@berth/contracts';
import { formatAge, formatFleetReport, formatHostHistory } from './report-format';

const MIB = 1024 * 1024;

function hostLine(overrides: Partial<FleetHostReport>): FleetHostReport {
  return {
    hostId: '5d1c1f52-0a43-4c38-9d0a-3c7a2c9d8e11',
    hostName: 'web-1',
    hostStatus: 'online',
    lastSeenAt: '2026-11-25T09:59:00.000Z',
    rpoHours: 26,
    breachesRpo: false,
    lastSnapshot: { id: 'a1b2c3d4-0000-4000-8000-000000000001', runId: '0b7c54b4-6f7e-4a53-9a57-1f6f0d1c2e3f', publishedAt: '2026-11-25T08:00:00.000Z', ageSeconds: 2 * 3600 + 5 * 60 },
    lastSuccessfulRun: {
      id: '0b7c54b4-6f7e-4a53-9a57-1f6f0d1c2e3f',
      status: 'succeeded',
      startedAt: '2026-11-25T07:59:40.000Z',
      finishedAt: '2026-11-25T08:00:00.000Z',
      durationMs: 20_000,
      files: 1200,
      bytes: 40 * MIB,
      bytesSent: 3 * MIB,
      bytesStored: 2 * MIB,
      bytesPerSecond: 2 * MIB,
    },
    lastRun: { id: '0b7c54b4-6f7e-4a53-9a57-1f6f0d1c2e3f', status: 'succeeded', createdAt: '2026-11-25T07:59:39.000Z', finishedAt: '2026-11-25T08:00:00.000Z', error: null },
    snapshots: 4,
    bytesStoredTotal: 9 * MIB,
    ...overrides,
  };
}

const report: FleetReport = {
  generatedAt: '2026-11-25T10:05:00.000Z',
  rpoHours: 26,
  hosts: [
    hostLine({}),
    hostLine({
      hostName: 'db-1',
      breachesRpo: true,
      lastSnapshot: { id: 'a1b2c3d4-0000-4000-8000-000000000002', runId: 'r2', publishedAt: '2026-11-22T06:00:00.000Z', ageSeconds: 3 * 86400 + 4 * 3600 + 5 * 60 },
      lastRun: { id: 'f00dcafe-0000-4000-8000-000000000009', status: 'failed', createdAt: '2026-11-25T09:00:00.000Z', finishedAt: '2026-11-25T09:00:03.000Z', error: 'paths_missing: /var/lib/pg does not exist' },
    }),
    hostLine({ hostName: 'new-1', hostStatus: 'pending', breachesRpo: true, lastSnapshot: null, lastSuccessfulRun: null, lastRun: null, snapshots: 0, bytesStoredTotal: 0 }),
  ],
  totals: { hosts: 3, protected: 1, breaching: 2, neverBackedUp: 1, lastRunFailed: 1, snapshots: 8, bytesProtected: 80 * MIB, bytesStored: 18 * MIB, lastRunsBytesSent: 6 * MIB },
};

describe('berth report formatting', () => {
  it('formats snapshot ages in minutes, hours, then days', () => {
    expect(formatAge(59)).toBe('0m');
    expect(formatAge(42 * 60)).toBe('42m');
    expect(formatAge(25 * 3600 + 10 * 60)).toBe('25h10m');
    expect(formatAge(3 * 86400 + 4 * 3600)).toBe('3d04h');
    expect(formatAge(-1)).toBe('-');
  });

  it('shows one aligned line per host: breach flag, snapshot age, last run and the last successful run figures', () => {
    const lines = formatFleetReport(report).split('\n');
    expect(lines[0]).toMatch(/^HOST\s+AGENT\s+RPO\s+LAST SNAPSHOT\s+AGE\s+LAST RUN\s+FILES\s+SIZE\s+SENT\s+STORED\s+TIME\s+RATE$/);
    expect(lines[1]).toMatch(/^web-1\s+online\s+ok\s+\S+ \S+\s+2h05m\s+succeeded\s+1,200\s+40\.0 MiB\s+3\.0 MiB\s+2\.0 MiB\s+20\.0 s\s+2\.0 MiB\/s$/);
    expect(lines[2]).toMatch(/^db-1\s+online\s+BREACH\s+\S+ \S+\s+3d04h\s+failed\s+1,200/);
    expect(lines[3]).toMatch(/^new-1\s+pending\s+BREACH\s+-\s+never\s+-\s+-\s+-\s+-\s+-\s+-\s+-$/);
    // Right-aligned numbers end in the same column.
    const end = (line: string | undefined, text: string): number => (line?.indexOf(text) ?? -1) + text.length;
    expect(end(lines[1], '2h05m')).toBe(end(lines[3], 'never'));
    expect(end(lines[1], '2h05m')).toBe(end(lines[2], '3d04h'));
  });

  it('names the failed last runs with their errors, then the fleet totals', () => {
    const text = formatFleetReport(report);
    expect(text).toMatch(/\nLast run failed:\n {2}HOST\s+RUN\s+ERROR\n {2}db-1\s+f00dcafe-0000-4000-8000-000000000009\s+paths_missing: \/var\/lib\/pg does not exist\n/);
    expect(text).toContain('\n3 hosts: 1 protected, 2 breaching the 26 h objective (1 never backed up); last run failed on 1\n');
    expect(text).toContain('\n8 snapshots, 18.0 MiB stored; newest snapshots hold 80.0 MiB; their runs sent 6.0 MiB\n');
  });

  it('says how to start when the fleet is empty', () => {
    expect(formatFleetReport({ ...report, hosts: [], totals: { ...report.totals, hosts: 0 } })).toContain('berth host add NAME --path DIR');
  });

  it("lists a host's runs newest first, and says how to start the first one", () => {
    const history: HostHistoryResponse = {
      hostId: '5d1c1f52-0a43-4c38-9d0a-3c7a2c9d8e11',
      hostName: 'web-1',
      runs: [
        { runId: 'r-2', status: 'running', createdAt: '2026-11-25T10:00:00.000Z', startedAt: '2026-11-25T10:00:01.000Z', finishedAt: null, durationMs: null, attempts: 1, files: 10, bytes: 2048, bytesSent: 1024, bytesStored: 0, fileErrors: 0, snapshotId: null },
        { runId: 'r-1', status: 'partial', createdAt: '2026-11-24T10:00:00.000Z', startedAt: '2026-11-24T10:00:01.000Z', finishedAt: '2026-11-24T10:03:08.000Z', durationMs: 187_000, attempts: 2, files: 1500, bytes: 5 * MIB, bytesSent: MIB, bytesStored: MIB / 2, fileErrors: 3, snapshotId: 's-1' },
      ],
    };
    const lines = formatHostHistory(history).split('\n');
    expect(lines[0]).toMatch(/^RUN\s+STATUS\s+CREATED\s+TIME\s+FILES\s+BYTES\s+SENT\s+STORED\s+ERRORS$/);
    expect(lines[1]).toMatch(/^r-2\s+running\s+\S+ \S+\s+-\s+10\s+2\.0 KiB\s+1\.0 KiB\s+0 B\s+0$/);
    expect(lines[2]).toMatch(/^r-1\s+partial\s+\S+ \S+\s+3m07s\s+1,500\s+5\.0 MiB\s+1\.0 MiB\s+512 KiB\s+3$/);
    expect(formatHostHistory({ ...history, runs: [] })).toBe('No backups of web-1 yet. Start one with `berth backup web-1`.\n');
  });
});
