import { type RunProgressRequest } from '@berth/contracts';
import { type RunReporter } from '../controller/controller-client';
import { ProgressReporter } from './progress-reporter';

function recorder(): { controller: RunReporter; reports: RunProgressRequest[] } {
  const reports: RunProgressRequest[] = [];
  const controller: RunReporter = {
    runStart: () => Promise.reject(new Error('not used')),
    runProgress: (_runId, request) => {
      reports.push(request);
      return Promise.resolve({ cancelRequested: false });
    },
    runFinish: () => Promise.reject(new Error('not used')),
  };
  return { controller, reports };
}

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

describe('ProgressReporter', () => {
  it('reports at once on reportNow, and stop() sends nothing more when nothing changed since', async () => {
    const { controller, reports } = recorder();
    const jobReports: number[] = [];
    const progress = new ProgressReporter('run-1', controller, ({ counters }) => {
      jobReports.push(counters.filesDone);
      return Promise.resolve();
    }, quiet, 60_000);
    progress.start();
    progress.counters.filesDone = 20;
    progress.checkpoint = '/';
    progress.touch();
    progress.reportNow();
    await progress.stop();
    expect(reports.map((report) => [report.checkpoint, report.counters.filesDone])).toEqual([['/', 20]]);
    expect(jobReports).toEqual([20]);
  });

  it('sends at stop() what changed after a report made with reportNow', async () => {
    const { controller, reports } = recorder();
    const progress = new ProgressReporter('run-2', controller, () => Promise.resolve(), quiet, 60_000);
    progress.start();
    progress.counters.filesDone = 1;
    progress.touch();
    progress.reportNow();
    progress.counters.filesDone = 2;
    progress.touch();
    await progress.stop();
    expect(reports.map((report) => report.counters.filesDone)).toEqual([1, 2]);
  });

  it('finish() sends nothing more, does not wait for a report in flight, and keeps quiet when that report is refused', async () => {
    const reports: RunProgressRequest[] = [];
    let refuse: (error: Error) => void = () => undefined;
    const controller: RunReporter = {
      runStart: () => Promise.reject(new Error('not used')),
      runProgress: (_runId, request) => {
        reports.push(request);
        return new Promise((_resolve, reject) => (refuse = reject));
      },
      runFinish: () => Promise.reject(new Error('not used')),
    };
    const warnings: string[] = [];
    const progress = new ProgressReporter('run-3', controller, () => Promise.resolve(), { ...quiet, warn: (line: string) => warnings.push(line) }, 10);
    progress.start();
    progress.counters.filesDone = 1;
    progress.touch();
    progress.reportNow();
    progress.counters.filesDone = 2;
    progress.touch();
    progress.finish();
    // The run has ended: the controller refuses the report that was in flight.
    refuse(new Error('409 run finished'));
    await new Promise((resolve) => setTimeout(resolve, 50));
    progress.touch();
    progress.reportNow();
    await progress.stop();
    expect(reports.map((report) => report.counters.filesDone)).toEqual([1]);
    expect(warnings).toEqual([]);
  });

  it('finishJob() gives the job its final counters and checkpoint without a report to the controller, and never fails', async () => {
    const { controller, reports } = recorder();
    const jobReports: Array<[number, string | null]> = [];
    let failJob = false;
    const progress = new ProgressReporter('run-4', controller, ({ counters, checkpoint }) => {
      if (failJob) return Promise.reject(new Error('redis away'));
      jobReports.push([counters.filesDone, checkpoint]);
      return Promise.resolve();
    }, quiet, 60_000);
    progress.start();
    progress.counters.filesDone = 7;
    progress.checkpoint = '/';
    progress.touch();
    progress.finish();
    await progress.finishJob();
    expect(jobReports).toEqual([[7, '/']]);
    expect(reports).toEqual([]);
    failJob = true;
    await expect(progress.finishJob()).resolves.toBeUndefined();
  });
});
