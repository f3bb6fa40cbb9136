/** Per-case figures of both systems, the issue's targets checked against them, the table and the JSON. */
import { type BerthRun, type BerthTimeline } from './berth-run';
import { type CaseNumber } from './options';
import { type RsyncPush } from './rsync-daemon';

export interface LinkFigures {
  readonly rateMbit: number;
  /** The token bucket's size and the kernel tick rate it follows from (link.ts). */
  readonly burstBytes: number;
  readonly hz: number | null;
  /** Content of the files that crossed, and the frames the host end of the veth sent and received. */
  readonly contentBytes: number;
  readonly berthFrames: { readonly sent: number; readonly received: number };
  readonly rsyncFrames: { readonly sent: number; readonly received: number };
  /** Content sent, as a share of what the link can carry in the time taken (its rate, and the bucket it starts full with). */
  readonly berthRatePct: number;
  readonly rsyncRatePct: number;
}

/** Every round's figures of a case (a single round unless --rounds). */
export interface RoundFigures {
  readonly berthSeconds: readonly number[];
  readonly rsyncSeconds: readonly number[];
  readonly timeRatios: readonly number[];
  readonly cpuRatios: readonly number[];
}

export interface MeasuredCase {
  readonly case: CaseNumber;
  readonly name: string;
  readonly description: string;
  readonly berth: {
    readonly seconds: number;
    /** Agent to receiver: framed bytes the receiver read (else the run's content counter). */
    readonly bytesSent: number;
    readonly bytesReceived: number;
    /** The run's bytesSent counter: file content the agent sent. */
    readonly contentSent: number;
    readonly bytesStored: number;
    readonly files: number;
    readonly cpuSeconds: { readonly agent: number; readonly receiver: number; readonly controller: number };
    readonly minorFaults: { readonly agent: number; readonly receiver: number; readonly controller: number };
    readonly timeline: BerthTimeline;
    readonly runId: string;
    readonly otherLoad: number;
  };
  readonly rsync: {
    readonly seconds: number;
    readonly bytesSent: number;
    readonly bytesReceived: number;
    readonly literalBytes: number;
    readonly filesTransferred: number;
    readonly cpuSeconds: { readonly client: number; readonly daemon: number };
    readonly minorFaults: { readonly client: number; readonly daemon: number };
    readonly syncSeconds: number;
    readonly otherLoad: number;
  };
  readonly timeRatio: number;
  /** Berth's bytes sent / rsync's "Total bytes sent"; and both directions together. */
  readonly bytesRatio: number;
  readonly totalBytesRatio: number;
  /** CPU seconds of Berth's three processes / rsync's client and daemon: less sensitive to other load than time. */
  readonly cpuRatio: number;
  readonly link: LinkFigures | null;
  /** The machine's 1-minute load average when the case started. */
  readonly loadAverage: number;
  /** The figures above are those of the round with the median time ratio; these are all rounds'. */
  readonly rounds: RoundFigures;
}

export interface SkippedCase {
  readonly case: CaseNumber;
  readonly name: string;
  readonly skipped: string;
}

export type CaseOutcome = MeasuredCase | SkippedCase;

export interface Target {
  readonly case: CaseNumber;
  readonly what: string;
  readonly goal: string;
  readonly measured: string;
  /** null when the case did not run. */
  readonly met: boolean | null;
}

export function measuredCase(
  c: { case: CaseNumber; name: string; description: string },
  berth: BerthRun,
  rsync: RsyncPush,
  link: LinkFigures | null,
  loadAverage: number,
): MeasuredCase {
  const berthSent = link?.berthFrames.sent ?? berth.wireIn ?? berth.counters.bytesSent;
  const berthReceived = link?.berthFrames.received ?? berth.wireOut ?? 0;
  const rsyncSent = link?.rsyncFrames.sent ?? rsync.bytesSent;
  const rsyncReceived = link?.rsyncFrames.received ?? rsync.bytesReceived;
  const timeRatio = berth.seconds / rsync.seconds;
  const cpuRatio = (berth.cpu.agent + berth.cpu.receiver + berth.cpu.controller) / Math.max(rsync.clientCpu + rsync.daemonCpu, 0.01);
  return {
    ...c,
    berth: {
      seconds: berth.seconds,
      bytesSent: berthSent,
      bytesReceived: berthReceived,
      contentSent: berth.counters.bytesSent,
      bytesStored: berth.counters.bytesStored,
      files: berth.counters.filesDone,
      cpuSeconds: berth.cpu,
      minorFaults: berth.minorFaults,
      timeline: berth.timeline,
      runId: berth.runId,
      otherLoad: berth.otherLoad,
    },
    rsync: {
      seconds: rsync.seconds,
      bytesSent: rsyncSent,
      bytesReceived: rsyncReceived,
      literalBytes: rsync.literalBytes,
      filesTransferred: rsync.filesTransferred,
      cpuSeconds: { client: rsync.clientCpu, daemon: rsync.daemonCpu },
      minorFaults: { client: rsync.clientFaults, daemon: rsync.daemonFaults },
      syncSeconds: rsync.syncSeconds,
      otherLoad: rsync.otherLoad,
    },
    timeRatio,
    bytesRatio: berthSent / Math.max(rsyncSent, 1),
    totalBytesRatio: (berthSent + berthReceived) / Math.max(rsyncSent + rsyncReceived, 1),
    cpuRatio,
    link,
    loadAverage,
    rounds: { berthSeconds: [berth.seconds], rsyncSeconds: [rsync.seconds], timeRatios: [timeRatio], cpuRatios: [cpuRatio] },
  };
}

/** One case's rounds as one: the round with the median time ratio (the lower one of two), with every round's figures. */
export function medianRound(rounds: readonly MeasuredCase[]): MeasuredCase {
  const sorted = [...rounds].sort((a, b) => a.timeRatio - b.timeRatio);
  const median = sorted[Math.floor((sorted.length - 1) / 2)];
  if (median === undefined) throw new Error('medianRound() of no rounds');
  return {
    ...median,
    rounds: {
      berthSeconds: rounds.map((r) => r.berth.seconds),
      rsyncSeconds: rounds.map((r) => r.rsync.seconds),
      timeRatios: rounds.map((r) => r.timeRatio),
      cpuRatios: rounds.map((r) => r.cpuRatio),
    },
  };
}

function spread(values: readonly number[]): string {
  if (values.length < 2) return '';
  return ` (${Math.min(...values).toFixed(2)}-${Math.max(...values).toFixed(2)})`;
}

const isMeasured = (c: CaseOutcome | undefined): c is MeasuredCase => c !== undefined && !('skipped' in c);

/** The issue's targets; a case that did not run leaves its targets unmet-unknown (met: null). */
export function checkTargets(cases: readonly CaseOutcome[]): Target[] {
  const find = (n: CaseNumber): CaseOutcome | undefined => cases.find((c) => c.case === n);
  const targets: Target[] = [];
  const timeTarget = (n: CaseNumber, limit: number): void => {
    const c = find(n);
    if (c === undefined) return;
    targets.push({
      case: n,
      what: `case ${n} time vs rsync`,
      goal: `<= ${limit.toFixed(1)}x`,
      measured: isMeasured(c)
        ? `${c.timeRatio.toFixed(2)}x (${c.berth.seconds.toFixed(2)} s vs ${c.rsync.seconds.toFixed(2)} s)${c.rounds.timeRatios.length > 1 ? `, median of ${c.rounds.timeRatios.length} rounds, range${spread(c.rounds.timeRatios)}` : ''}`
        : `skipped: ${c.skipped}`,
      met: isMeasured(c) ? c.timeRatio <= limit : null,
    });
  };
  timeTarget(1, 1.0);
  timeTarget(2, 0.5);
  timeTarget(3, 1.0);
  const three = find(3);
  if (three !== undefined) {
    targets.push({
      case: 3,
      what: 'case 3 bytes sent vs rsync',
      goal: '<= 1.1x',
      measured: isMeasured(three)
        ? `${three.bytesRatio.toFixed(2)}x (${formatBytes(three.berth.bytesSent)} vs ${formatBytes(three.rsync.bytesSent)}; both directions ${three.totalBytesRatio.toFixed(2)}x)`
        : `skipped: ${three.skipped}`,
      met: isMeasured(three) ? three.bytesRatio <= 1.1 : null,
    });
  }
  const four = find(4);
  if (four !== undefined) {
    const link = isMeasured(four) ? four.link : null;
    targets.push({
      case: 4,
      what: 'case 4 rate over the link (file content / time)',
      goal: '>= 95% of the link',
      measured: link !== null ? `${link.berthRatePct.toFixed(1)}% (rsync ${link.rsyncRatePct.toFixed(1)}%)` : `skipped: ${'skipped' in four ? four.skipped : 'no link figures'}`,
      met: link !== null ? link.berthRatePct >= 95 : null,
    });
  }
  return targets;
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(2)} GB`;
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  if (bytes >= 1e3) return `${(bytes / 1e3).toFixed(1)} kB`;
  return `${bytes} B`;
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}

const seconds = (ms: number | null): string => (ms === null ? '?' : (ms / 1000).toFixed(2));

export function formatReport(cases: readonly CaseOutcome[], targets: readonly Target[]): string {
  const measured = cases.filter(isMeasured);
  const out: string[] = [];
  const name = (c: CaseOutcome): string => `${c.case} ${c.name}`;
  out.push(
    ...table(
      ['case', 'Berth s', 'rsync s', 'time ratio (range)', 'Berth sent', 'rsync sent', 'bytes ratio', 'both ways ratio'],
      cases.map((c) =>
        isMeasured(c)
          ? [
              name(c),
              c.berth.seconds.toFixed(2),
              c.rsync.seconds.toFixed(2),
              `${c.timeRatio.toFixed(2)}x${spread(c.rounds.timeRatios)}`,
              formatBytes(c.berth.bytesSent),
              formatBytes(c.rsync.bytesSent),
              `${c.bytesRatio.toFixed(2)}x`,
              `${c.totalBytesRatio.toFixed(2)}x`,
            ]
          : [name(c), 'skipped', '', '', '', '', '', ''],
      ),
    ),
  );
  if (measured.length > 0) {
    out.push('', 'CPU seconds (all threads) and the load of everything else meanwhile (CPUs kept busy by other work; PostgreSQL and Redis included)');
    out.push(
      ...table(
        ['case', 'Berth agent', 'receiver', 'controller', 'rsync client', 'daemon', 'CPU ratio (range)', 'other load Berth', 'other load rsync', 'load avg'],
        measured.map((c) => [
          name(c),
          c.berth.cpuSeconds.agent.toFixed(2),
          c.berth.cpuSeconds.receiver.toFixed(2),
          c.berth.cpuSeconds.controller.toFixed(2),
          c.rsync.cpuSeconds.client.toFixed(2),
          c.rsync.cpuSeconds.daemon.toFixed(2),
          `${c.cpuRatio.toFixed(2)}x${spread(c.rounds.cpuRatios)}`,
          c.berth.otherLoad.toFixed(2),
          c.rsync.otherLoad.toFixed(2),
          c.loadAverage.toFixed(2),
        ]),
      ),
    );
  }
  if (measured.length > 0) {
    out.push('', 'Minor page faults, thousands (memory touched for the first time: mostly fresh buffers; each costs 3-40 µs on the VMs measured)');
    const thousands = (n: number): string => (n / 1000).toFixed(1);
    out.push(
      ...table(
        ['case', 'Berth agent', 'receiver', 'controller', 'rsync client', 'daemon'],
        measured.map((c) => [
          name(c),
          thousands(c.berth.minorFaults.agent),
          thousands(c.berth.minorFaults.receiver),
          thousands(c.berth.minorFaults.controller),
          thousands(c.rsync.minorFaults.client),
          thousands(c.rsync.minorFaults.daemon),
        ]),
      ),
    );
  }
  if (measured.length > 0) {
    out.push('', 'Berth timeline (seconds after the API trigger): created, agent took the job, receiver session start/end, run succeeded; content sent; stored');
    out.push(
      ...table(
        ['case', 'created', 'agent', 'session', 'session end', 'succeeded', 'content sent', 'stored', 'files', 'rsync +sync s'],
        measured.map((c) => [
          `${c.case} ${c.name}`,
          seconds(c.berth.timeline.created),
          seconds(c.berth.timeline.agentStarted),
          seconds(c.berth.timeline.sessionStarted),
          seconds(c.berth.timeline.sessionEnded),
          seconds(c.berth.timeline.finished),
          formatBytes(c.berth.contentSent),
          formatBytes(c.berth.bytesStored),
          String(c.berth.files),
          c.rsync.syncSeconds.toFixed(2),
        ]),
      ),
    );
  }
  for (const c of measured) {
    if (c.link === null) continue;
    out.push(
      '',
      `case 4 link ${c.link.rateMbit} Mbit/s (tbf bucket ${c.link.burstBytes / 1024} KiB for ${c.link.hz === null ? 'an unknown HZ, 100 assumed' : `HZ=${c.link.hz}`}), ${formatBytes(c.link.contentBytes)} of content: Berth ${c.link.berthRatePct.toFixed(1)}% of the link ` +
        `(frames ${formatBytes(c.link.berthFrames.sent)} out / ${formatBytes(c.link.berthFrames.received)} back), rsync ${c.link.rsyncRatePct.toFixed(1)}% ` +
        `(frames ${formatBytes(c.link.rsyncFrames.sent)} / ${formatBytes(c.link.rsyncFrames.received)}); TCP over 1500-byte frames carries at most ~95.6% content`,
    );
  }
  out.push('', 'targets:');
  for (const t of targets) out.push(`  [${t.met === null ? 'not run' : t.met ? 'met' : 'MISSED'}] ${t.what}: ${t.goal}, measured ${t.measured}`);
  return out.join('\n');
}
