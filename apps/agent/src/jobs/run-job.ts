/**
 * The slice of a BullMQ job the run services use, so they can be driven directly (tests, tools) as well
 * as by the worker.
 */
import { type RunCounters } from '@berth/contracts';

export interface RunJob<TData> {
  readonly data: TData;
  /** True when a failure now would be retried (attempts remain). */
  readonly retriesLeft: boolean;
  updateProgress(progress: { counters: RunCounters; checkpoint: string | null }): Promise<void>;
}

/** A run job driven by hand: no retries, progress dropped. */
export function standaloneJob<TData>(data: TData): RunJob<TData> {
  return { data, retriesLeft: false, updateProgress: () => Promise.resolve() };
}
