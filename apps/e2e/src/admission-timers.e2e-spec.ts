import path from 'node:path';
import { generateSampleTree, type SampleTreeSummary } from '@berth/harness';
import { type FleetSuite, startFleetSuite } from './support/fleet-suite';
import { restoreAndCompare } from './support/verify-snapshot';

const IDLE_TIMEOUT_MS = 3000;
const MIN_WAIT_MS = 8000;

/** Time of the first line of an agent's log that matches, from its ISO timestamp prefix. */
function firstStamp(log: string, pattern: RegExp): number | null {
  const line = log.split('\n').find((l) => pattern.test(l));
  return line === undefined ? null : Date.parse(line.slice(0, line.indexOf(' ')));
}

// An agent heartbeats every 5 s until the receiver tells it its own interval. Protocol 2's Wait carries the
// receiver's timers, so a waiting agent survives an idle timeout far below 5 s.
describe('admission: a waiting agent keeps a receiver with a 3 s idle timeout happy', () => {
  let suite: FleetSuite;
  const hosts: { id: string; source: string; tree: SampleTreeSummary }[] = [];

  beforeAll(async () => {
    suite = await startFleetSuite('wait-timers', {
      receiverEnv: {
        BERTH_RECEIVER_MAX_SESSIONS: '1',
        // The first backup holds the only slot for about 12 s.
        BERTH_RECEIVER_WRITE_BYTES_PER_SEC: String(1000 * 1000),
        BERTH_HEARTBEAT_MS: '1000',
        BERTH_IDLE_TIMEOUT_MS: String(IDLE_TIMEOUT_MS),
      },
    });
    for (const [i, largeFileBytes] of [12 * 1024 * 1024, 64 * 1024].entries()) {
      const source = path.join(suite.work, `source-${i}`);
      const tree = await generateSampleTree(source, {
        seed: 700 + i,
        smallFiles: 20,
        largeFiles: 1,
        largeFileBytes,
        duplicateLargeFile: false,
        nestedDepth: 1,
        nestedBreadth: 2,
      });
      const { host } = await suite.fleet.addHostWithAgent({ name: `waiter-${i}`, paths: [source] });
      hosts.push({ id: host.id, source, tree });
    }
  }, 180_000);

  afterAll(async () => {
    await suite?.stop();
  });

  it('the second agent waits longer than 8 s without being dropped, then completes in one attempt', async () => {
    const [first, second] = hosts;
    if (first === undefined || second === undefined) throw new Error('two hosts expected');
    const firstRun = await suite.fleet.api.startBackup(first.id);
    // Let the first agent take the slot before the second asks.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const secondRun = await suite.fleet.api.startBackup(second.id);
    const [a, b] = await Promise.all([
      suite.fleet.api.waitForRun(firstRun.id, { timeoutMs: 120_000 }),
      suite.fleet.api.waitForRun(secondRun.id, { timeoutMs: 120_000 }),
    ]);
    expect([a.status, a.attempts, a.error]).toEqual(['succeeded', 1, null]);
    expect([b.status, b.attempts, b.error]).toEqual(['succeeded', 1, null]);

    const agentLog = (await suite.fleet.agents.get('waiter-1')?.logs()) ?? '';
    const waitingAt = firstStamp(agentLog, /waiting \(position 1\)/);
    expect(waitingAt).not.toBeNull();
    // The only slot was free again once the first run had finished: the second waited at least until then.
    const waitedMs = Date.parse(a.finishedAt ?? '') - (waitingAt ?? 0);
    process.stdout.write(`wait timers: the second agent waited about ${waitedMs} ms (idle timeout ${IDLE_TIMEOUT_MS} ms)\n`);
    expect(waitedMs).toBeGreaterThan(MIN_WAIT_MS);
    expect(await suite.fleet.receiver.logs()).not.toMatch(/idle|timed out|timeout/i);

    const restored = await restoreAndCompare(suite, b, second.source, path.join(suite.work, 'restore-1'));
    expect(restored.differences).toBe('');
  }, 180_000);
});
