import path from 'node:path';
import { type RunResponse } from '@berth/contracts';
import { compareTrees, formatDifferences } from '@berth/harness';
import { type FleetSuite } from './fleet-suite';

/**
 * Restores the run's snapshot into `target` (through the host's agent and the receiver) and compares it with
 * the source: content, metadata and hard links. Returns the differences, formatted (empty when identical).
 */
export async function restoreAndCompare(suite: FleetSuite, run: RunResponse, source: string, target: string): Promise<{ differences: string; files: number }> {
  if (run.snapshotId === null) throw new Error(`run ${run.id} published no snapshot (status ${run.status}, error ${run.error ?? 'none'})`);
  const queued = await suite.fleet.api.restore(run.snapshotId, { targetDir: target });
  const restored = await suite.fleet.api.waitForRun(queued.id, { timeoutMs: 120_000 });
  if (restored.status !== 'succeeded') throw new Error(`restore ${restored.id} ended ${restored.status}: ${restored.error ?? 'no error'}`);
  const comparison = await compareTrees(source, path.join(target, source));
  return { differences: comparison.differences.length === 0 ? '' : formatDifferences(comparison), files: comparison.files };
}

/** A compact account of a run's attempts for failure messages and logs. */
export function describeAttempts(run: RunResponse): string {
  return run.attemptHistory
    .map((a) => `#${a.number} ${a.outcome ?? 'running'} sent=${a.bytesSent} resent=${a.bytesResent ?? '?'} from=${a.resumedFrom ?? '-'} why=${a.endReason ?? '-'}`)
    .join('; ');
}

/** What a run that lived through an outage sent: its attempts, and the bytes sent beyond the tree's own. */
export interface OutageAccount {
  readonly history: string;
  readonly resent: number;
}

/**
 * Accounts for a run that lived through an outage of one of the fleet's services and prints one line for the test's
 * log (`label`, the tree's and its largest directory's bytes, where the outage began, the attempts, the bytes re-sent).
 */
export function accountForOutage(label: string, run: RunResponse, treeBytes: number, largestDir: number, outage: { sentAtStart: number; ms: number }): OutageAccount {
  const history = describeAttempts(run);
  const resent = run.attemptHistory.reduce((sum, a) => sum + a.bytesSent, 0) - treeBytes;
  process.stdout.write(
    `${label}: tree ${treeBytes} bytes (largest directory ${largestDir}); outage from sent=${outage.sentAtStart} for ${outage.ms} ms; attempts ${history}; re-sent ${resent} bytes\n`,
  );
  return { history, resent };
}
