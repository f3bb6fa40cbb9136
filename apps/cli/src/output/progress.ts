import { type RunResponse } from '@berth/contracts';
import { formatBytes, formatCount, formatRate } from './units';

/** Throughput over a sliding window of recent samples, so the rate follows changes instead of averaging them away. */
export class RateMeter {
  private readonly samples: { atMs: number; bytes: number }[] = [];

  constructor(private readonly windowMs = 5_000) {}

  push(atMs: number, bytes: number): void {
    this.samples.push({ atMs, bytes });
    while (this.samples.length > 2 && (this.samples[0]?.atMs ?? atMs) < atMs - this.windowMs) this.samples.shift();
  }

  /** Bytes per second, or null until two samples some time apart exist. */
  bytesPerSecond(): number | null {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (first === undefined || last === undefined || last.atMs - first.atMs < 200) return null;
    return Math.max(0, ((last.bytes - first.bytes) * 1000) / (last.atMs - first.atMs));
  }
}

export const BAR_WIDTH = 24;

/** Fraction done, by bytes when the total is known, else by files; null when neither total is known yet. */
export function fractionDone(run: RunResponse): number | null {
  const c = run.counters;
  if (c.bytesTotal > 0) return Math.min(1, c.bytesDone / c.bytesTotal);
  if (c.filesTotal > 0) return Math.min(1, c.filesDone / c.filesTotal);
  return null;
}

export function renderBar(fraction: number, width = BAR_WIDTH): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
}

/** Files, bytes and rate; `rateWidth` pads the rate so a redrawn line does not jitter. */
function countsText(run: RunResponse, rate: number | null, rateWidth = 0): string {
  const c = run.counters;
  const files = c.filesTotal > 0 ? `${formatCount(c.filesDone)}/${formatCount(c.filesTotal)} files` : `${formatCount(c.filesDone)} files`;
  const bytes = c.bytesTotal > 0 ? `${formatBytes(c.bytesDone)}/${formatBytes(c.bytesTotal)}` : formatBytes(c.bytesDone);
  return `${files}  ${bytes}  ${(rate === null ? '-' : formatRate(rate)).padStart(rateWidth)}`;
}

/**
 * One terminal line: label, bar, percentage, files, bytes, rate. The bar shrinks (down to nothing) so the
 * numbers fit the terminal; only then is the line cut.
 */
export function renderProgressLine(run: RunResponse, rate: number | null, columns: number): string {
  const label = `${run.kind} ${run.hostName}`;
  const room = columns - 1;
  let line: string;
  if (run.status === 'queued') {
    line = `${label}  queued, waiting for the agent${run.attempts > 0 ? ` (attempt ${run.attempts + 1})` : ''}`;
  } else if (run.status !== 'running') {
    line = `${label}  ${run.status}  ${countsText(run, rate)}`;
  } else {
    const fraction = fractionDone(run);
    const counts = countsText(run, rate, 10);
    if (fraction === null) line = `${label}  ${counts}`;
    else {
      const percent = `${String(Math.floor(fraction * 100)).padStart(3)}%`;
      const fixed = `${label}  ${percent}  ${counts}`.length;
      const barWidth = Math.min(BAR_WIDTH, room - fixed - 4);
      line = barWidth >= 8 ? `${label}  ${renderBar(fraction, barWidth)} ${percent}  ${counts}` : `${label}  ${percent}  ${counts}`;
    }
  }
  return line.length > room ? line.slice(0, Math.max(0, room)) : line;
}

/** The periodic line written when the output is not a terminal (logs, CI). */
export function renderProgressLogLine(run: RunResponse, rate: number | null, at: Date): string {
  const time = at.toISOString().slice(11, 19);
  if (run.status === 'queued') return `[${time}] ${run.kind} ${run.hostName}: queued\n`;
  const fraction = fractionDone(run);
  const percent = fraction === null ? '' : ` ${Math.floor(fraction * 100)}%,`;
  return `[${time}] ${run.kind} ${run.hostName}: ${run.status},${percent} ${countsText(run, rate).replace(/ {2}/g, ', ')}\n`;
}
