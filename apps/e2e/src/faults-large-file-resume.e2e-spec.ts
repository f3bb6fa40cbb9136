import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { type FleetSuite, startFleetSuite } from './support/fleet-suite';
import { waitForProgress } from './support/run-progress';
import { describeAttempts, restoreAndCompare } from './support/verify-snapshot';

const MiB = 1024 * 1024;
const CREDIT_BYTES = 8 * MiB;
const LARGE_FILE_BYTES = 128 * MiB;
/** One chunk of entries carries at most 4 MiB of content (apps/agent chunk-cutter). */
const CHUNK_CONTENT_BYTES = 4 * MiB;
/** The repository's content chunk: a file resumes after its last whole stored chunk. */
const CONTENT_CHUNK_BYTES = MiB;

// kill -9 of the receiver (or the agent) while a 128 MiB file (random bytes: nothing to deduplicate) is half sent, then a restart on
// the same port and repository. The next attempt offers the file by its chunk hashes, the receiver answers with the
// leading chunks it holds, and only the rest crosses the wire again: the part the receiver had made durable is not
// sent twice. Each attempt reports what it sent again (bytesResent), and those reports add up to exactly what the
// attempts sent beyond the tree's size.
/** The tree's files: 47, all random (nothing to deduplicate). Returns the tree's bytes. */
const TREE_FILES = 40 + 5 + 1 + 1;

async function writeTree(source: string): Promise<number> {
  let treeBytes = 0;
  const small = path.join(source, 'a-dir');
  await fs.mkdir(small, { recursive: true });
  const write = async (file: string, bytes: number): Promise<void> => {
    await fs.writeFile(file, randomBytes(bytes));
    treeBytes += bytes;
  };
  for (let i = 0; i < 40; i++) await write(path.join(small, `f${i}`), 3000 + i * 97);
  // Small files in the large file's directory, before and after it in name order: they share its chunks.
  for (let i = 0; i < 5; i++) await write(path.join(source, `a${i}.txt`), 20_000 + i);
  const large = await fs.open(path.join(source, 'large.bin'), 'w');
  for (let written = 0; written < LARGE_FILE_BYTES; written += MiB) await large.write(randomBytes(MiB));
  await large.close();
  treeBytes += LARGE_FILE_BYTES;
  await write(path.join(source, 'z-after.txt'), 12_345);
  return treeBytes;
}

describe('fault: receiver or agent killed (SIGKILL) in the middle of a large file', () => {
  let suite: FleetSuite;

  beforeAll(async () => {
    suite = await startFleetSuite('large-file-resume', {
      receiverEnv: {
        // Slow enough to kill a process half-way through the file; the smallest credit window bounds what is in flight.
        BERTH_RECEIVER_WRITE_BYTES_PER_SEC: String(16 * MiB),
        BERTH_RECEIVER_CREDIT_BYTES: String(CREDIT_BYTES),
      },
    });
  }, 180_000);

  afterAll(async () => {
    await suite?.stop();
  });

  it('receiver killed: resumes the file after its stored part and re-sends at most one chunk plus its uncommitted part', async () => {
    const source = path.join(suite.work, 'source-receiver-kill');
    const treeBytes = await writeTree(source);
    const {
      host: { id: hostId },
    } = await suite.fleet.addHostWithAgent({ name: 'large-file-receiver-kill', paths: [source] });
    const queued = await suite.fleet.api.startBackup(hostId);
    const atKill = await waitForProgress(suite.fleet.api, queued.id, (run) => run.counters.bytesSent >= 48 * MiB, '48 MiB sent', 120_000);
    expect(atKill.counters.bytesSent).toBeLessThan(LARGE_FILE_BYTES - 32 * MiB);
    await suite.fleet.restartReceiver('SIGKILL');
    const run = await suite.fleet.api.waitForRun(queued.id, { timeoutMs: 240_000 });
    const history = describeAttempts(run);
    const sentInAll = run.attemptHistory.reduce((sum, a) => sum + a.bytesSent, 0);
    const sentTwice = sentInAll - treeBytes;
    const reported = run.attemptHistory.map((a) => a.bytesResent);
    process.stdout.write(
      `large file resume: tree ${treeBytes} bytes, killed at sent=${atKill.counters.bytesSent}; attempts ${history}; ` +
        `sent twice ${sentTwice} bytes, reported re-sent ${reported.join('+')}\n`,
    );

    expect({ status: run.status, error: run.error, history }).toEqual({ status: 'succeeded', error: null, history });
    expect(run.attempts).toBeGreaterThanOrEqual(2);
    const first = run.attemptHistory[0];
    // The first attempt had sent most of what it got to when it died: without resuming inside the file, all of
    // that (far more than the bound below) would cross the wire again.
    expect(first?.bytesSent ?? 0).toBeGreaterThanOrEqual(48 * MiB);
    expect(first?.bytesResent).toBe(0);
    // What was sent twice: at most one chunk of entries (the small files sharing the file's chunk) plus the file's
    // part not yet durable when the receiver died (at most the credit window, cut at a whole content chunk).
    expect(sentTwice).toBeGreaterThanOrEqual(0);
    expect(sentTwice).toBeLessThanOrEqual(CHUNK_CONTENT_BYTES + CREDIT_BYTES + CONTENT_CHUNK_BYTES);
    // The attempts' own accounts of what they sent again are complete and exact.
    expect(reported.every((bytes) => bytes !== null)).toBe(true);
    expect(reported.reduce<number>((sum, bytes) => sum + (bytes ?? 0), 0)).toBe(sentTwice);

    const result = await restoreAndCompare(suite, run, source, path.join(suite.work, 'restore-receiver-kill'));
    expect(result.differences).toBe('');
    expect(result.files).toBe(TREE_FILES);
  }, 420_000);

  // The agent dies instead: its memory of the run goes with it, so the count of what the next attempt sends again
  // rests on what the receiver recorded as the dead session ended (Welcome.sentThrough).
  it('agent killed: the next attempt resumes the file after its stored part and counts what it re-sends from the receiver', async () => {
    const source = path.join(suite.work, 'source-agent-kill');
    const treeBytes = await writeTree(source);
    const { host, agent } = await suite.fleet.addHostWithAgent({ name: 'large-file-agent-kill', paths: [source] });
    const queued = await suite.fleet.api.startBackup(host.id);
    const atKill = await waitForProgress(suite.fleet.api, queued.id, (run) => run.counters.bytesSent >= 48 * MiB, '48 MiB sent', 120_000);
    expect(atKill.counters.bytesSent).toBeLessThan(LARGE_FILE_BYTES - 32 * MiB);
    agent.kill();
    await agent.process.exited;
    // The same agent again: its worker finds the job stalled once the killed agent's lock expired (30 s).
    await suite.fleet.startAgent('large-file-agent-kill');
    const run = await suite.fleet.api.waitForRun(queued.id, { timeoutMs: 240_000, pollMs: 500 });
    const history = describeAttempts(run);
    process.stdout.write(`large file resume after an agent kill: tree ${treeBytes} bytes, killed at sent=${atKill.counters.bytesSent}; attempts ${history}\n`);

    expect({ status: run.status, error: run.error, history }).toEqual({ status: 'succeeded', error: null, history });
    expect(run.attempts).toBe(2);
    const [first, second] = run.attemptHistory;
    expect(first?.outcome).toBe('abandoned');
    // The killed attempt reported its bytes about once a second, so it had sent at least that much.
    const sentBeforeKill = first?.bytesSent ?? 0;
    expect(sentBeforeKill).toBeGreaterThanOrEqual(48 * MiB);
    const bound = CHUNK_CONTENT_BYTES + CREDIT_BYTES + CONTENT_CHUNK_BYTES;
    // Only the rest crossed the wire: the tree less what attempt 1 sent, plus at most the bound.
    expect(second?.bytesSent ?? Infinity).toBeLessThanOrEqual(treeBytes - sentBeforeKill + bound);
    // Attempt 2 knew how far attempt 1 got (from the receiver) and counted what it sent again: within the bound.
    expect(second?.bytesResent).not.toBeNull();
    expect(second?.bytesResent ?? Infinity).toBeLessThanOrEqual(bound);
    expect(second?.bytesResent ?? -1).toBeGreaterThanOrEqual(0);

    const result = await restoreAndCompare(suite, run, source, path.join(suite.work, 'restore-agent-kill'));
    expect(result.differences).toBe('');
    expect(result.files).toBe(TREE_FILES);
  }, 420_000);
});
