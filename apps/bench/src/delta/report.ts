import { type OurResult, type PhaseTiming } from './ours';
import { type RsyncResult } from './rsync';

export interface CaseResult {
  readonly name: string;
  readonly description: string;
  readonly fileBytes: number;
  /** One entry per round, ours and rsync run back to back in each (alternating which goes first). */
  readonly rounds: readonly { readonly ours: OurResult; readonly rsync: RsyncResult }[];
}

export interface CaseSummary {
  readonly name: string;
  readonly fileBytes: number;
  readonly blockLength: number;
  readonly signatureMBps: number;
  readonly deltaMBps: number;
  readonly patchMBps: number;
  /** Bytes per CPU second (all threads): what the code does when it gets the cores, whatever else runs. */
  readonly signatureCpuMBps: number;
  readonly deltaCpuMBps: number;
  readonly patchCpuMBps: number;
  readonly oursComputeSeconds: number;
  /** CPU seconds (all threads) of signature, delta and patch: the figures to read when the machine is busy. */
  readonly signatureCpuSeconds: number;
  readonly deltaCpuSeconds: number;
  readonly patchCpuSeconds: number;
  readonly oursCpuSeconds: number;
  readonly signatureBytes: number;
  readonly deltaBytes: number;
  readonly literalBytes: number;
  readonly rsyncSeconds: number;
  readonly rsyncCpuSeconds: number;
  readonly rsyncBytesSent: number;
  readonly rsyncBytesReceived: number;
  readonly rsyncLiteralBytes: number;
  /** Our delta bytes / rsync's total bytes sent. */
  readonly deltaBytesRatio: number;
  /** Our signature + delta + patch seconds / rsync's transfer seconds (medians of the rounds). */
  readonly timeRatio: number;
  /** Rounds run; the seconds above are medians over them, each phase on its own. */
  readonly rounds: number;
  /** Lowest and highest per-round time ratio (the same round's ours against the same round's rsync). */
  readonly timeRatioRange: readonly [number, number];
}

export interface Target {
  readonly what: string;
  readonly goal: string;
  readonly measured: string;
  readonly met: boolean;
}

const MB = 1e6;

/** Median of a non-empty list (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of nothing');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

const phaseMedian = (phases: readonly PhaseTiming[]): PhaseTiming => ({ seconds: median(phases.map((p) => p.seconds)), cpuSeconds: median(phases.map((p) => p.cpuSeconds)) });
const computeSeconds = (ours: OurResult): number => ours.signature.seconds + ours.delta.seconds + ours.patch.seconds;

/**
 * One result from several rounds: each timing is its own median, so one round slowed by something else on the
 * machine does not decide the figures. Byte counts are the same in every round (the algorithms are
 * deterministic); the first round's are kept.
 */
function medianOfRounds(rounds: CaseResult['rounds']): { ours: OurResult; rsync: RsyncResult } {
  const first = rounds[0];
  if (first === undefined) throw new Error('a case needs at least one round');
  const ours: OurResult = {
    ...first.ours,
    signature: phaseMedian(rounds.map((r) => r.ours.signature)),
    delta: phaseMedian(rounds.map((r) => r.ours.delta)),
    patch: phaseMedian(rounds.map((r) => r.ours.patch)),
  };
  const rsync: RsyncResult = { ...first.rsync, seconds: median(rounds.map((r) => r.rsync.seconds)), cpuSeconds: median(rounds.map((r) => r.rsync.cpuSeconds)) };
  return { ours, rsync };
}

export function summarize(result: CaseResult): CaseSummary {
  const { fileBytes } = result;
  const { ours, rsync } = medianOfRounds(result.rounds);
  const compute = computeSeconds(ours);
  const ratios = result.rounds.map((r) => computeSeconds(r.ours) / r.rsync.seconds);
  return {
    name: result.name,
    fileBytes,
    blockLength: ours.blockLength,
    signatureMBps: fileBytes / MB / ours.signature.seconds,
    deltaMBps: fileBytes / MB / ours.delta.seconds,
    patchMBps: fileBytes / MB / ours.patch.seconds,
    signatureCpuMBps: fileBytes / MB / ours.signature.cpuSeconds,
    deltaCpuMBps: fileBytes / MB / ours.delta.cpuSeconds,
    patchCpuMBps: fileBytes / MB / ours.patch.cpuSeconds,
    oursComputeSeconds: compute,
    signatureCpuSeconds: ours.signature.cpuSeconds,
    deltaCpuSeconds: ours.delta.cpuSeconds,
    patchCpuSeconds: ours.patch.cpuSeconds,
    oursCpuSeconds: ours.signature.cpuSeconds + ours.delta.cpuSeconds + ours.patch.cpuSeconds,
    signatureBytes: ours.signatureBytes,
    deltaBytes: ours.deltaBytes,
    literalBytes: ours.literalBytes,
    rsyncSeconds: rsync.seconds,
    rsyncCpuSeconds: rsync.cpuSeconds,
    rsyncBytesSent: rsync.bytesSent,
    rsyncBytesReceived: rsync.bytesReceived,
    rsyncLiteralBytes: rsync.literalBytes,
    deltaBytesRatio: ours.deltaBytes / rsync.bytesSent,
    timeRatio: compute / rsync.seconds,
    rounds: result.rounds.length,
    timeRatioRange: [Math.min(...ratios), Math.max(...ratios)],
  };
}

/** The targets of the delta engine (issue 3), checked against this run. */
export function checkTargets(cases: readonly CaseSummary[]): Target[] {
  const byName = (name: string): CaseSummary | undefined => cases.find((c) => c.name === name);
  const targets: Target[] = [];
  const worstRatio = Math.max(...cases.map((c) => c.deltaBytesRatio));
  targets.push({ what: 'delta bytes vs rsync bytes sent (worst case)', goal: '<= 1.05x', measured: `${worstRatio.toFixed(3)}x`, met: worstRatio <= 1.05 });
  const none = byName('256MiB-no-common');
  if (none) targets.push({ what: 'delta, no block in common', goal: '>= 200 MB/s', measured: `${none.deltaMBps.toFixed(0)} MB/s (${none.deltaCpuMBps.toFixed(0)} per cpu-s)`, met: none.deltaMBps >= 200 });
  const same = byName('256MiB-identical');
  if (same) targets.push({ what: 'delta, all blocks match', goal: '>= 1000 MB/s', measured: `${same.deltaMBps.toFixed(0)} MB/s (${same.deltaCpuMBps.toFixed(0)} per cpu-s)`, met: same.deltaMBps >= 1000 });
  const minSig = Math.min(...cases.map((c) => c.signatureMBps));
  const minSigCpu = Math.min(...cases.map((c) => c.signatureCpuMBps));
  targets.push({ what: 'signature (slowest case)', goal: '>= 1000 MB/s', measured: `${minSig.toFixed(0)} MB/s (${minSigCpu.toFixed(0)} per cpu-s)`, met: minSig >= 1000 });
  const onePercent = byName('256MiB-1pct-scattered');
  if (onePercent) {
    targets.push({
      what: 'sig + delta + patch, 1% edits, vs rsync transfer',
      goal: '< rsync',
      measured: `${onePercent.oursComputeSeconds.toFixed(2)} s vs ${onePercent.rsyncSeconds.toFixed(2)} s, per round ${onePercent.timeRatioRange[0].toFixed(2)}-${onePercent.timeRatioRange[1].toFixed(2)}x (CPU ${onePercent.oursCpuSeconds.toFixed(2)} s vs ${onePercent.rsyncCpuSeconds.toFixed(2)} s)`,
      met: onePercent.oursComputeSeconds < onePercent.rsyncSeconds,
    });
  }
  return targets;
}

export function formatTable(cases: readonly CaseSummary[], targets: readonly Target[]): string {
  const header = ['case', 'block', 'sig MB/s', 'delta MB/s', 'patch MB/s', 'per cpu-s: sig/delta/patch', 'ours s', 'ours cpu s', 'delta bytes', 'literal', 'rsync s', 'rsync cpu s', 'rsync sent', 'rsync literal', 'bytes ratio', 'time ratio (range)'];
  const rows = cases.map((c) => [
    c.name,
    String(c.blockLength),
    c.signatureMBps.toFixed(0),
    c.deltaMBps.toFixed(0),
    c.patchMBps.toFixed(0),
    `${c.signatureCpuMBps.toFixed(0)}/${c.deltaCpuMBps.toFixed(0)}/${c.patchCpuMBps.toFixed(0)}`,
    c.oursComputeSeconds.toFixed(2),
    c.oursCpuSeconds.toFixed(2),
    String(c.deltaBytes),
    String(c.literalBytes),
    c.rsyncSeconds.toFixed(2),
    c.rsyncCpuSeconds.toFixed(2),
    String(c.rsyncBytesSent),
    String(c.rsyncLiteralBytes),
    c.deltaBytesRatio.toFixed(3),
    `${c.timeRatio.toFixed(2)} (${c.timeRatioRange[0].toFixed(2)}-${c.timeRatioRange[1].toFixed(2)})`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  ');
  const out = [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line), ''];
  out.push('targets:');
  for (const target of targets) out.push(`  [${target.met ? 'met' : 'MISSED'}] ${target.what}: ${target.goal}, measured ${target.measured}`);
  return out.join('\n');
}
