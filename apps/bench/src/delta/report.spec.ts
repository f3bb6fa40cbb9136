import { type OurResult } from './ours';
import { checkTargets, median, summarize } from './report';
import { type RsyncResult } from './rsync';

const MiB = 1024 * 1024;

function ours(signature: number, delta: number, patch: number): OurResult {
  return {
    signature: { seconds: signature, cpuSeconds: signature },
    delta: { seconds: delta, cpuSeconds: delta },
    patch: { seconds: patch, cpuSeconds: patch },
    signatureBytes: 1000,
    deltaBytes: 2000,
    literalBytes: 1500,
    blockLength: 16384,
  };
}

function rsync(seconds: number): RsyncResult {
  return { seconds, cpuSeconds: seconds, literalBytes: 1500, matchedBytes: 0, bytesSent: 2100, bytesReceived: 100 };
}

describe('delta bench report', () => {
  it('takes the median of odd and even counts', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(() => median([])).toThrow('median of nothing');
  });

  it('reports each phase as its own median, so one disturbed round does not decide the figures', () => {
    const summary = summarize({
      name: '256MiB-1pct-scattered',
      description: '1%',
      fileBytes: 256 * MiB,
      rounds: [
        { ours: ours(0.1, 0.3, 0.2), rsync: rsync(0.8) },
        { ours: ours(0.5, 0.2, 0.9), rsync: rsync(0.5) },
        { ours: ours(0.2, 0.25, 0.15), rsync: rsync(0.6) },
      ],
    });
    expect(summary.rounds).toBe(3);
    expect(summary.oursComputeSeconds).toBeCloseTo(0.2 + 0.25 + 0.2, 10);
    expect(summary.rsyncSeconds).toBe(0.6);
    expect(summary.timeRatio).toBeCloseTo(0.65 / 0.6, 10);
    // Per round: 0.6/0.8, 1.6/0.5, 0.6/0.6.
    expect(summary.timeRatioRange[0]).toBeCloseTo(0.75, 10);
    expect(summary.timeRatioRange[1]).toBeCloseTo(3.2, 10);
    expect(summary.deltaMBps).toBeCloseTo((256 * MiB) / 1e6 / 0.25, 6);
    expect(summary.deltaBytesRatio).toBeCloseTo(2000 / 2100, 10);
  });

  it('checks the 1% target against the medians', () => {
    const rounds = [
      { ours: ours(0.1, 0.2, 0.2), rsync: rsync(0.6) },
      { ours: ours(0.1, 0.2, 0.2), rsync: rsync(0.55) },
      { ours: ours(0.1, 0.2, 0.2), rsync: rsync(0.7) },
    ];
    const [target] = checkTargets([summarize({ name: '256MiB-1pct-scattered', description: '', fileBytes: 256 * MiB, rounds })]).filter((t) => t.what.includes('1% edits'));
    expect(target?.met).toBe(true);
    expect(target?.measured).toContain('0.50 s vs 0.60 s');
    const slower = rounds.map((r) => ({ ...r, rsync: rsync(0.3) }));
    const [missed] = checkTargets([summarize({ name: '256MiB-1pct-scattered', description: '', fileBytes: 256 * MiB, rounds: slower })]).filter((t) => t.what.includes('1% edits'));
    expect(missed?.met).toBe(false);
  });
});
