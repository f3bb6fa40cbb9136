import { promises as fs } from 'node:fs';
import path from 'node:path';
import { type RunResponse } from '@berth/contracts';
import { freePort, generateSampleTree, type SampleTreeSummary } from '@berth/harness';
import { type FleetSuite, startFleetSuite } from './support/fleet-suite';
import { MetricsSampler } from './support/metrics-sampler';
import { describeAttempts, restoreAndCompare } from './support/verify-snapshot';

const AGENTS = 10;
const MAX_SESSIONS = 2;
const IDLE_TIMEOUT_MS = 8000;

/** From an agent's log: time between its first and last "waiting (position N)" lines, a lower bound of its wait. */
function waitedMs(log: string): number {
  const stamps = log
    .split('\n')
    .filter((line) => /waiting \(position \d+\)/.test(line))
    .map((line) => Date.parse(line.slice(0, line.indexOf(' '))));
  return stamps.length < 2 ? 0 : (stamps[stamps.length - 1] ?? 0) - (stamps[0] ?? 0);
}

// The failure of 2005: a slow backup server (450 MHz, old disk) and fast clients; the server's TCP window
// fell to zero and connections were reset. Here the receiver's repository writes are throttled to 2 MB/s
// and 200 file operations/s, ten agents back up at once into two slots: the receiver sets the pace
// (credits, a waiting line with heartbeats) and nobody fails.
describe('fault: slow repository, ten agents, two slots', () => {
  let suite: FleetSuite;
  let metricsUrl: string;
  const hosts: { id: string; name: string; source: string; tree: SampleTreeSummary }[] = [];

  beforeAll(async () => {
    const metricsPort = await freePort();
    metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    suite = await startFleetSuite('slow-repo', {
      receiverEnv: {
        BERTH_RECEIVER_MAX_SESSIONS: String(MAX_SESSIONS),
        BERTH_RECEIVER_WRITE_BYTES_PER_SEC: String(2 * 1000 * 1000),
        BERTH_RECEIVER_WRITE_OPS_PER_SEC: '200',
        BERTH_RECEIVER_METRICS_LISTEN: `127.0.0.1:${metricsPort}`,
        // Shorter than the longest wait: only heartbeats keep a waiting session alive (at the interval the
        // receiver's Wait tells the agent).
        BERTH_HEARTBEAT_MS: '1000',
        BERTH_IDLE_TIMEOUT_MS: String(IDLE_TIMEOUT_MS),
      },
    });
    for (let i = 0; i < AGENTS; i++) {
      const source = path.join(suite.work, `source-${i}`);
      const tree = await generateSampleTree(source, {
        seed: 100 + i,
        smallFiles: 260,
        largeFiles: 1,
        largeFileBytes: 1024 * 1024,
        duplicateLargeFile: false,
        nestedDepth: 2,
        nestedBreadth: 2,
      });
      const { host } = await suite.fleet.addHostWithAgent({ name: `slow-${i}`, paths: [source] });
      hosts.push({ id: host.id, name: host.name, source, tree });
    }
  }, 180_000);

  afterAll(async () => {
    await suite?.stop();
  });

  it('completes every backup without a failure, never more than two writing, the rest waiting told their position', async () => {
    const sampler = new MetricsSampler(metricsUrl);
    sampler.start();
    const started = Date.now();
    let runs: RunResponse[];
    try {
      const queued = await Promise.all(hosts.map((h) => suite.fleet.api.startBackup(h.id)));
      runs = await Promise.all(queued.map((q) => suite.fleet.api.waitForRun(q.id, { timeoutMs: 150_000 })));
    } finally {
      sampler.stop();
    }
    const seconds = (Date.now() - started) / 1000;
    const totalBytes = hosts.reduce((sum, h) => sum + h.tree.bytes, 0);
    const totalFiles = hosts.reduce((sum, h) => sum + h.tree.files, 0);
    process.stdout.write(
      `slow repository: ${AGENTS} backups of ${totalFiles} files, ${(totalBytes / 1e6).toFixed(1)} MB in ${seconds.toFixed(1)} s; ` +
        `max slots busy ${sampler.maxOf('berth_receiver_slots_busy')}, max waiting ${sampler.maxOf('berth_receiver_sessions_waiting')}, ` +
        `max commit latency ${sampler.maxOf('berth_receiver_commit_latency_max_ms')} ms, ${sampler.samples} samples\n`,
    );

    for (const run of runs) {
      expect({ run: run.hostName, status: run.status, error: run.error, attempts: run.attempts, history: describeAttempts(run) }).toEqual({
        run: run.hostName,
        status: 'succeeded',
        error: null,
        attempts: 1,
        history: describeAttempts(run),
      });
    }
    // The throttle really bit: 2 MB/s and 200 ops/s cannot move this much in less time.
    expect(seconds).toBeGreaterThan(Math.max(totalBytes / 2e6, totalFiles / 200) * 0.8);
    expect(sampler.samples).toBeGreaterThan(50);
    expect(sampler.maxOf('berth_receiver_slots_busy')).toBeLessThanOrEqual(MAX_SESSIONS);
    expect(sampler.maxOf('berth_receiver_slots_busy')).toBeGreaterThanOrEqual(1);
    expect(sampler.maxOf('berth_receiver_slots_limit')).toBeLessThanOrEqual(MAX_SESSIONS);
    expect(sampler.maxOf('berth_receiver_sessions_waiting')).toBeGreaterThanOrEqual(4);

    // Waiting agents were told their position, and the waits were longer than the idle timeout for some:
    // heartbeats, not data, kept them.
    const waited: string[] = [];
    let longestWaitMs = 0;
    for (const [name, agent] of suite.fleet.agents) {
      const log = await agent.logs();
      if (/waiting \(position \d+\)/.test(log)) waited.push(name);
      longestWaitMs = Math.max(longestWaitMs, waitedMs(log));
    }
    process.stdout.write(`slow repository: ${waited.length} agents waited, the longest at least ${longestWaitMs} ms (idle timeout ${IDLE_TIMEOUT_MS} ms)\n`);
    expect(waited.length).toBeGreaterThanOrEqual(4);
    expect(longestWaitMs).toBeGreaterThan(IDLE_TIMEOUT_MS);
    const receiverLog = await suite.fleet.receiver.logs();
    expect(receiverLog).not.toMatch(/idle|timed out|timeout/i);

    // Nothing was sent twice: a single attempt each, and at most the tree's bytes (plus framing) on the wire.
    for (const [i, run] of runs.entries()) {
      const tree = hosts[i]?.tree;
      expect(run.counters.bytesSent).toBeLessThanOrEqual((tree?.bytes ?? 0) * 1.05 + 64 * 1024);
    }

    for (const [i, run] of runs.entries()) {
      const host = hosts[i];
      if (host === undefined) throw new Error('host list and runs differ');
      const result = await restoreAndCompare(suite, run, host.source, path.join(suite.work, `restore-${i}`));
      expect(result.differences).toBe('');
      expect(result.files).toBe(host.tree.files);
      await fs.rm(path.join(suite.work, `restore-${i}`), { recursive: true, force: true });
    }
  }, 300_000);
});
