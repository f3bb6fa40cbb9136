import { type RunFinishRequest } from '@berth/contracts';
import { DomainError } from '../errors/domain.error';
import { BACKUP_DONE_CHECKPOINT, counterColumns, planRunEnd, RUN_FILE_ERRORS_KEPT } from './run-end.util';

const now = new Date('2026-11-25T12:00:00.000Z');
const snapshot = { id: '0b9a3c4e-1f0e-4d6b-9a57-3d1f1b7c2e10', rootTree: 'tree-hash', stats: { files: 5, dirs: 2, bytes: 100, bytesSent: 60, bytesStored: 40 }, publishedAt: '2026-11-25T11:59:59.000Z' };

function detailsOf(run: () => unknown): readonly string[] | undefined {
  try {
    run();
  } catch (error) {
    if (error instanceof DomainError) return error.details;
    throw error;
  }
  throw new Error('expected a DomainError');
}

describe('counterColumns', () => {
  it('maps only the reported counters, fileErrors to fileErrorCount', () => {
    expect(counterColumns({ filesDone: 3, fileErrors: 1 })).toEqual({ filesDone: 3n, fileErrorCount: 1n });
    expect(counterColumns({})).toEqual({});
  });
});

describe('planRunEnd', () => {
  it('ends a succeeded backup with its snapshot', () => {
    const end = planRunEnd('backup', { status: 'succeeded', counters: { filesDone: 5, bytesSent: 60 }, snapshot }, now);
    expect(end).toMatchObject({ status: 'succeeded', finishedAt: now, error: null, counters: { filesDone: 5n }, fileErrors: [], fileErrorCap: RUN_FILE_ERRORS_KEPT });
    expect(end.attempt).toEqual({ outcome: 'succeeded', endReason: null, endedAt: now, bytesSent: 60n });
    expect(end.snapshot).toEqual({ id: snapshot.id, rootTree: 'tree-hash', files: 5n, dirs: 2n, bytes: 100n, bytesSent: 60n, bytesStored: 40n, publishedAt: new Date(snapshot.publishedAt) });
    // Everything is committed up to the root, whatever the last progress report said.
    expect(end.checkpoint).toBe(BACKUP_DONE_CHECKPOINT);
  });

  it('leaves the checkpoint alone when nothing was published', () => {
    expect(planRunEnd('backup', { status: 'failed', counters: {}, error: 'boom', willRetry: true }, now).checkpoint).toBeUndefined();
    expect(planRunEnd('restore', { status: 'succeeded', counters: {} }, now).checkpoint).toBeUndefined();
  });

  it('keeps file errors of a partial backup', () => {
    const end = planRunEnd('backup', { status: 'partial', counters: {}, snapshot, fileErrors: [{ path: '/a', message: 'EACCES' }] }, now);
    expect(end.status).toBe('partial');
    expect(end.fileErrors).toEqual([{ path: '/a', message: 'EACCES' }]);
  });

  it('sends a failed attempt that will be retried back to queued, keeping its error', () => {
    const end = planRunEnd('backup', { status: 'failed', counters: {}, willRetry: true, error: 'receiver went away', bytesResent: 4096 }, now);
    expect(end).toMatchObject({ status: 'queued', finishedAt: null, error: 'receiver went away' });
    // The attempt itself failed, whatever happens to the run; bytes it did not report stay as last reported.
    expect(end.attempt).toEqual({ outcome: 'failed', endReason: 'receiver went away', endedAt: now, bytesResent: 4096n });
    expect(planRunEnd('restore', { status: 'failed', counters: {} }, now)).toMatchObject({ status: 'failed', finishedAt: now, error: 'failed without a message' });
  });

  it('refuses reports that do not fit the run', () => {
    const cases: [Parameters<typeof planRunEnd>[0], RunFinishRequest, string][] = [
      ['backup', { status: 'succeeded', counters: {} }, 'snapshot is required when a backup ends succeeded'],
      ['restore', { status: 'succeeded', counters: {}, snapshot }, 'snapshot must be given only when a backup succeeds or ends partial'],
      ['backup', { status: 'failed', counters: {}, snapshot }, 'snapshot must be given only when a backup succeeds or ends partial'],
      ['restore', { status: 'succeeded', counters: {}, willRetry: true }, 'willRetry applies only to failed attempts'],
    ];
    for (const [kind, report, detail] of cases) {
      expect(detailsOf(() => planRunEnd(kind, report, now))).toEqual([detail]);
    }
  });
});

describe('planRunEnd of a run an operator asked to cancel', () => {
  const note = 'canceled at the request of ops-token (operator)';

  it('ends a canceled report canceled, the note as error and end reason', () => {
    const end = planRunEnd('backup', { status: 'canceled', counters: { bytesSent: 10 }, error: 'canceled: stopped' }, now, note);
    expect(end).toMatchObject({ status: 'canceled', finishedAt: now, error: note });
    expect(end.attempt).toEqual({ outcome: 'canceled', endReason: note, endedAt: now, bytesSent: 10n });
  });

  it('ends a failure that would be retried canceled instead, keeping both reasons on the attempt', () => {
    const end = planRunEnd('backup', { status: 'failed', counters: {}, willRetry: true, error: 'receiver went away' }, now, note);
    expect(end).toMatchObject({ status: 'canceled', finishedAt: now, error: note });
    expect(end.attempt.endReason).toBe(`receiver went away; ${note}`);
  });

  it('refuses a canceled report nobody asked for, and willRetry on it', () => {
    expect(() => planRunEnd('backup', { status: 'canceled', counters: {} }, now)).toThrow('Nobody asked to cancel this run');
    expect(detailsOf(() => planRunEnd('backup', { status: 'canceled', counters: {}, willRetry: true }, now, note))).toEqual(['willRetry applies only to failed attempts']);
  });
});
