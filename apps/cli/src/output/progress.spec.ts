import { sampleRun } from '../../test/fixtures';
import { fractionDone, RateMeter, renderBar, renderProgressLine, renderProgressLogLine } from './progress';

describe('progress', () => {
  it('measures the rate over the recent window only', () => {
    const meter = new RateMeter(5_000);
    expect(meter.bytesPerSecond()).toBeNull();
    meter.push(0, 0);
    meter.push(1_000, 10_000_000); // a fast first second ...
    for (let t = 2_000; t <= 10_000; t += 1_000) meter.push(t, 10_000_000 + (t - 1_000)); // ... then 1 kB/s
    expect(meter.bytesPerSecond()).toBeCloseTo(1000, 0);
  });

  it('uses bytes for the fraction when their total is known, else files, else nothing', () => {
    expect(fractionDone(sampleRun())).toBeCloseTo(0.25);
    expect(fractionDone(sampleRun({}, { bytesTotal: 0 }))).toBeCloseTo(0.25);
    expect(fractionDone(sampleRun({}, { bytesTotal: 0, filesTotal: 0 }))).toBeNull();
  });

  it('draws a bar, the percentage, files, bytes and rate on one line that fits the terminal', () => {
    expect(renderBar(0.5, 10)).toBe('[#####-----]');
    // The rate is padded to 10 characters so that redrawing does not make the line jitter.
    expect(renderProgressLine(sampleRun(), 2 * 1024 * 1024, 200)).toBe('backup web-1  [######------------------]  25%  500/2,000 files  1.0 MiB/4.0 MiB   2.0 MiB/s');
    // A narrower terminal gets a shorter bar, then none, before anything is cut.
    expect(renderProgressLine(sampleRun(), 2 * 1024 * 1024, 80)).toBe('backup web-1  [###--------]  25%  500/2,000 files  1.0 MiB/4.0 MiB   2.0 MiB/s');
    expect(renderProgressLine(sampleRun(), 2 * 1024 * 1024, 70)).toBe('backup web-1   25%  500/2,000 files  1.0 MiB/4.0 MiB   2.0 MiB/s');
    expect(renderProgressLine(sampleRun(), null, 30)).toHaveLength(29);
    expect(renderProgressLine(sampleRun({}, { bytesTotal: 0, filesTotal: 0 }), null, 80)).toBe('backup web-1  500 files  1.0 MiB           -');
    expect(renderProgressLine(sampleRun({ status: 'queued' }), null, 200)).toBe('backup web-1  queued, waiting for the agent (attempt 2)');
  });

  it('writes plain timestamped lines when not on a terminal', () => {
    const line = renderProgressLogLine(sampleRun(), 1024, new Date('2026-11-25T10:00:05.000Z'));
    expect(line).toBe('[10:00:05] backup web-1: running, 25%, 500/2,000 files, 1.0 MiB/4.0 MiB, 1.0 KiB/s\n');
  });
});
