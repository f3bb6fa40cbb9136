import { type RunResponse, TERMINAL_RUN_STATUSES } from '@berth/contracts';
import { type ApiClient } from '../api/api-client';
import { ControllerUnreachableError } from '../api/api-errors';
import { RateMeter, renderProgressLine, renderProgressLogLine } from '../output/progress';

export interface ProgressOutput {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export interface WaitOptions {
  /** Where progress goes (stderr, so that stdout stays clean for --json). */
  readonly progress: ProgressOutput;
  /** Suppress progress entirely (--json without a terminal). */
  readonly quiet?: boolean;
  readonly pollMs?: number;
  /** Non-terminal output: one line at most this often (and on every status change). */
  readonly logEveryMs?: number;
  /** How long the controller may stay unreachable before waiting gives up. */
  readonly unreachableGraceMs?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The terminal's width; some pseudo-terminals report 0 columns, which would cut every line to nothing. */
export function terminalColumns(output: ProgressOutput): number {
  return output.columns !== undefined && output.columns >= 20 ? output.columns : 80;
}

export function isTerminal(run: RunResponse): boolean {
  return TERMINAL_RUN_STATUSES.includes(run.status);
}

/** Polls GET /runs/:id (about twice a second) until the run ends, drawing progress meanwhile. */
export async function waitForRun(api: ApiClient, runId: string, options: WaitOptions): Promise<RunResponse> {
  const pollMs = options.pollMs ?? 500;
  const logEveryMs = options.logEveryMs ?? 5_000;
  const graceMs = options.unreachableGraceMs ?? 30_000;
  const tty = options.progress.isTTY === true && options.quiet !== true;
  const meter = new RateMeter();
  let lastLogAt = 0;
  let lastStatus = '';
  let unreachableSince: number | null = null;
  let drew = false;

  try {
    for (;;) {
      let run: RunResponse;
      try {
        run = await api.getRun(runId);
        unreachableSince = null;
      } catch (error) {
        if (!(error instanceof ControllerUnreachableError)) throw error;
        unreachableSince ??= Date.now();
        if (Date.now() - unreachableSince > graceMs) throw error;
        await sleep(pollMs * 2);
        continue;
      }
      const now = Date.now();
      meter.push(now, run.counters.bytesDone);
      if (isTerminal(run)) return run;
      const rate = meter.bytesPerSecond();
      if (tty) {
        options.progress.write(`\r${renderProgressLine(run, rate, terminalColumns(options.progress))}\u001b[K`);
        drew = true;
      } else if (options.quiet !== true && (run.status !== lastStatus || now - lastLogAt >= logEveryMs)) {
        options.progress.write(renderProgressLogLine(run, rate, new Date(now)));
        lastLogAt = now;
      }
      lastStatus = run.status;
      await sleep(pollMs);
    }
  } finally {
    if (drew) options.progress.write('\r\u001b[K');
  }
}
