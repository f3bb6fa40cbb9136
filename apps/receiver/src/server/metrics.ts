import { RateWindow } from '../util/rate-window';

export interface ReceiverMetricsSnapshot {
  readonly slotsBusy: number;
  readonly slotsLimit: number;
  readonly sessionsWaiting: number;
  readonly connections: number;
  /** Credit granted to agents and not yet spent. */
  readonly creditBytesOutstanding: number;
  readonly creditOpsOutstanding: number;
  /** Spent by agents and not yet durable: what the receiver holds for them right now. */
  readonly bytesInFlight: number;
  readonly opsInFlight: number;
  readonly commitLatencyMs: { readonly last: number; readonly average: number; readonly max: number; readonly count: number };
  readonly bytesPerSecond: number;
  readonly opsPerSecond: number;
  /** 1 once a crash recovery may have lost objects stored trees refer to (the repository's damage record), else 0. */
  readonly repositoryDamaged: number;
}

/** Counters sessions feed; read through Receiver.metrics(). Latency average is exponentially weighted. */
export class ReceiverMetrics {
  private readonly bytes = new RateWindow();
  private readonly ops = new RateWindow();
  private latency = { last: 0, average: 0, max: 0, count: 0 };

  /** `onCommitLatency` also receives each measurement (the slot policy adapts to it). */
  constructor(private readonly onCommitLatency: (ms: number) => void = () => undefined) {}

  recordBytes(bytes: number): void {
    this.bytes.add(bytes);
  }

  recordOps(ops: number): void {
    this.ops.add(ops);
  }

  recordCommitLatency(ms: number): void {
    const l = this.latency;
    this.latency = { last: ms, average: l.count === 0 ? ms : l.average * 0.8 + ms * 0.2, max: Math.max(l.max, ms), count: l.count + 1 };
    this.onCommitLatency(ms);
  }

  snapshot(
    admission: { slotsBusy: number; slotsLimit: number; waiting: number },
    connections: number,
    credit: { availableBytes: number; availableOps: number; inFlightBytes: number; inFlightOps: number },
    repositoryDamaged: boolean,
  ): ReceiverMetricsSnapshot {
    return {
      slotsBusy: admission.slotsBusy,
      slotsLimit: admission.slotsLimit,
      sessionsWaiting: admission.waiting,
      connections,
      creditBytesOutstanding: credit.availableBytes,
      creditOpsOutstanding: credit.availableOps,
      bytesInFlight: credit.inFlightBytes,
      opsInFlight: credit.inFlightOps,
      commitLatencyMs: { ...this.latency },
      bytesPerSecond: this.bytes.perSecond(),
      opsPerSecond: this.ops.perSecond(),
      repositoryDamaged: repositoryDamaged ? 1 : 0,
    };
  }
}
