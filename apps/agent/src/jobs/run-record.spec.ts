import { type RunReporter } from '../controller/controller-client';
import { type ReceiverConnector } from '../receiver/receiver-connector';
import { RunRecord } from './run-record';
import { standaloneJob } from './run-job';

describe('RunRecord', () => {
  const lines: string[] = [];
  const deps = {
    controller: {} as RunReporter,
    connector: {} as ReceiverConnector,
    hostId: 'h',
    credential: 'c',
    log: { info: (line: string) => lines.push(`info ${line}`), warn: (line: string) => lines.push(`warn ${line}`), error: (line: string) => lines.push(`error ${line}`) },
  };

  beforeEach(() => (lines.length = 0));

  it('counts file errors and skipped entries apart; only errors make the run partial; logs as asked', () => {
    const record = new RunRecord('run-1', standaloneJob({}), deps);
    expect(record.status).toBe('succeeded');
    record.skip({ path: '/s', message: 'socket' }, false);
    record.skip({ path: '/d', message: 'device node' }, true);
    expect(record.status).toBe('succeeded');
    record.fileError({ path: '/f', message: 'EACCES' });
    expect(record.status).toBe('partial');
    expect(record.counters).toMatchObject({ fileErrors: 1, filesSkipped: 2 });
    expect(record.fileErrors).toEqual([{ path: '/f', message: 'EACCES' }]);
    expect(record.skipped.map((s) => s.path)).toEqual(['/s', '/d']);
    expect(lines).toEqual(['info run run-1: /d: device node', 'warn run run-1: /f: EACCES']);
  });

  it('starts in the prepare phase, with a signal that is not aborted unless the caller gives one', () => {
    const record = new RunRecord('run-2', standaloneJob({}), deps);
    expect(record.clock.phases().map((p) => p.name)).toEqual(['prepare']);
    expect(record.signal.aborted).toBe(false);
    const stop = new AbortController();
    stop.abort();
    expect(new RunRecord('run-3', standaloneJob({}), { ...deps, signal: stop.signal }).signal.aborted).toBe(true);
    expect(record.elapsedSeconds()).toBeGreaterThan(0);
  });
});
