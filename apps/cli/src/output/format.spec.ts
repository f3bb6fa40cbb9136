import { sampleHost, sampleRun } from '../../test/fixtures';
import { agentEnrollCommand, formatHostCreated, formatHostTable, shellQuote } from './host-format';
import { exitCodeForRun } from '../commands/run-outcome';
import { formatAttemptTable, formatPhases, formatRunDetail, formatRunTable, retryAnnouncement, runRate } from './run-format';
import { formatSnapshotTable } from './snapshot-format';

describe('formatters', () => {
  const now = new Date('2026-11-25T10:00:05.000Z');

  it('lists hosts in a table, or says how to add one', () => {
    const table = formatHostTable([sampleHost(), sampleHost({ name: 'db', paths: ['/var/lib/pg'], excludes: [], enrolled: false, status: 'pending' })]);
    const lines = table.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+ID\s+STATUS\s+ENROLLED\s+LAST SEEN\s+PATHS$/);
    expect(lines[1]).toContain('/srv/www /etc  (exclude *.tmp)');
    expect(lines[2]).toMatch(/^db\s+\S+\s+pending\s+no\s+-\s+\/var\/lib\/pg$/);
    expect(lines[1]?.indexOf('online')).toBe(lines[2]?.indexOf('pending'));
    expect(formatHostTable([])).toContain('berth host add NAME --path DIR');
  });

  it('prints the enrollment secret and a pasteable agent command', () => {
    expect(shellQuote('plain-word_1.2/x')).toBe('plain-word_1.2/x');
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
    expect(agentEnrollCommand('http://ctl:8080', 'abc')).toBe('berth agent --controller http://ctl:8080 --enroll-secret abc');
    const text = formatHostCreated({ host: sampleHost(), enrollmentSecret: 's3cr3t' }, 'http://ctl:8080');
    expect(text).toContain('enrollment secret:  s3cr3t');
    expect(text).toContain('  berth agent --controller http://ctl:8080 --enroll-secret s3cr3t\n');
  });

  it('lists runs with duration, files and bytes', () => {
    const table = formatRunTable([sampleRun()], now);
    expect(table.split('\n')[0]).toMatch(/^ID\s+HOST\s+KIND\s+STATUS\s+CREATED\s+TIME\s+FILES\s+BYTES\s+SENT\s+ERRORS$/);
    expect(table).toMatch(/web-1\s+backup\s+running\s+\S+ \S+\s+4\.0 s\s+500\/2,000\s+1\.0 MiB\s+879 KiB\s+0/);
    expect(formatRunTable([], now)).toContain('berth backup HOST');
  });

  it('details a run, including its rate and file errors', () => {
    const run = sampleRun(
      { status: 'partial', finishedAt: '2026-11-25T10:00:03.000Z', snapshotId: 'snap-1', fileErrors: [{ path: '/srv/www/secret', message: 'EACCES: permission denied' }] },
      { fileErrors: 1, bytesDone: 4 * 1024 * 1024, filesDone: 2000 },
    );
    expect(runRate(run, now)).toBe(2 * 1024 * 1024);
    const text = formatRunDetail(run, now);
    expect(text).toContain('\nstatus:    partial\n');
    expect(text).toContain('\nfiles:     2,000 of 2,000 (0 skipped, 1 error)\n');
    expect(text).toContain('\nbytes:     4.0 MiB of 4.0 MiB at 2.0 MiB/s\n');
    expect(text).toContain('\nsnapshot:  snap-1\n');
    expect(text).toMatch(/File errors \(1\):\n {2}PATH\s+ERROR\n {2}\/srv\/www\/secret\s+EACCES: permission denied/);
  });

  it('details the attempts of a run: resume point, bytes, outcome and why each ended', () => {
    const run = sampleRun(
      {
        status: 'succeeded',
        attempts: 3,
        finishedAt: '2026-11-25T10:03:00.000Z',
        attemptHistory: [
          { number: 1, startedAt: '2026-11-25T10:00:01.000Z', endedAt: '2026-11-25T10:00:31.000Z', outcome: 'abandoned', endReason: 'abandoned: no report from the agent (it was killed or lost its connection)', resumedFrom: null, bytesSent: 3 * 1024 * 1024, bytesResent: null, phases: [] },
          { number: 2, startedAt: '2026-11-25T10:01:00.000Z', endedAt: '2026-11-25T10:01:02.500Z', outcome: 'failed', endReason: 'receiver_unavailable: connection to receiver lost: ECONNRESET', resumedFrom: '/srv/www/a', bytesSent: 2048, bytesResent: 1024, phases: [] },
          { number: 3, startedAt: '2026-11-25T10:02:00.000Z', endedAt: '2026-11-25T10:03:00.000Z', outcome: 'succeeded', endReason: null, resumedFrom: '/srv/www/b', bytesSent: 900_000, bytesResent: null, phases: [] },
        ],
      },
      { filesDone: 2000 },
    );
    const text = formatRunDetail(run, now);
    expect(text).toContain('\nattempts:  3\n');
    const table = text.slice(text.indexOf('Attempts (3):\n') + 'Attempts (3):\n'.length).split('\n');
    expect(table[0]).toMatch(/^ {2}#\s+STARTED\s+TIME\s+OUTCOME\s+RESUMED FROM\s+SENT\s+RESENT\s+END REASON$/);
    expect(table[1]).toMatch(/^ {2}1\s+\S+ \S+\s+30\.0 s\s+abandoned\s+\(start\)\s+3\.0 MiB\s+-\s+abandoned: no report from the agent \(it was killed or lost its connection\)$/);
    expect(table[2]).toMatch(/^ {2}2\s+\S+ \S+\s+2\.5 s\s+failed\s+\/srv\/www\/a\s+2\.0 KiB\s+1\.0 KiB\s+receiver_unavailable: connection to receiver lost: ECONNRESET$/);
    expect(table[3]).toMatch(/^ {2}3\s+\S+ \S+\s+1m00s\s+succeeded\s+\/srv\/www\/b\s+879 KiB\s+-$/);
    // Columns line up across rows.
    expect(table[1]?.indexOf('abandoned')).toBe(table[3]?.indexOf('succeeded'));
  });

  it('shows where the run spent its time: queued, then each attempt\'s phases', () => {
    const run = sampleRun({
      createdAt: '2026-11-25T10:00:00.000Z',
      attemptHistory: [
        {
          number: 1,
          startedAt: '2026-11-25T10:00:02.000Z',
          endedAt: '2026-11-25T10:00:45.500Z',
          outcome: 'succeeded',
          endReason: null,
          resumedFrom: null,
          bytesSent: 1024,
          bytesResent: null,
          phases: [
            { name: 'prepare', startedAt: '2026-11-25T10:00:02.000Z', endedAt: '2026-11-25T10:00:02.120Z' },
            { name: 'connect', startedAt: '2026-11-25T10:00:02.120Z', endedAt: '2026-11-25T10:00:02.140Z' },
            { name: 'admission', startedAt: '2026-11-25T10:00:02.140Z', endedAt: '2026-11-25T10:00:05.340Z' },
            { name: 'transfer', startedAt: '2026-11-25T10:00:05.340Z', endedAt: '2026-11-25T10:00:45.500Z' },
          ],
        },
      ],
    });
    expect(formatPhases(run)).toBe('queued 2.0 s before attempt 1\n#1  prepare 120 ms  connect 20 ms  admission 3.2 s  transfer 40.2 s\n');
    expect(formatRunDetail(run, now)).toContain('\nPhases:\n  queued 2.0 s before attempt 1\n  #1  prepare 120 ms');
    expect(formatPhases(sampleRun({ attemptHistory: [] }))).toBeNull();
  });

  it('shows an open attempt as running, timed up to now', () => {
    const table = formatAttemptTable(sampleRun().attemptHistory, now);
    expect(table.split('\n')[1]).toMatch(/^1\s+\S+ \S+\s+4\.0 s\s+running\s+\(start\)\s+879 KiB\s+-$/);
    expect(formatRunDetail(sampleRun({ attemptHistory: [] }), now)).not.toContain('Attempts');
  });

  it('announces a retried run with the attempt to come and where it resumes', () => {
    const failed = sampleRun({ status: 'queued', attempts: 2, checkpoint: '/srv/www/photos' });
    expect(retryAnnouncement(failed).headline).toBe(`Backup run ${failed.id} of web-1 queued again: attempt 3 resumes after /srv/www/photos`);
    expect(retryAnnouncement({ ...failed, checkpoint: null }).waitLine).toBe(`backup run ${failed.id} queued again for web-1: attempt 3 starts from the beginning (no directory was committed yet)`);
  });

  it('lists snapshots, or says how to take one', () => {
    const table = formatSnapshotTable(
      [{ id: 'snap-1', hostId: 'h', hostName: 'web-1', runId: 'r', rootTree: 't', stats: { files: 10, dirs: 2, bytes: 2048, bytesSent: 1024, bytesStored: 512 }, publishedAt: '2026-11-25T10:00:00.000Z' }],
      'web-1',
    );
    expect(table).toMatch(/snap-1\s+web-1\s+\S+ \S+\s+10\s+2\s+2\.0 KiB\s+1\.0 KiB\s+512 B/);
    expect(formatSnapshotTable([], 'web-1')).toContain('berth backup web-1');
  });

  it('maps a finished run to the exit code scripts see', () => {
    expect(exitCodeForRun(sampleRun({ status: 'succeeded' }))).toBe(0);
    expect(exitCodeForRun(sampleRun({ status: 'partial' }))).toBe(3);
    expect(exitCodeForRun(sampleRun({ status: 'failed' }))).toBe(1);
    expect(exitCodeForRun(sampleRun({ status: 'canceled' }))).toBe(1);
  });
});
