import { promises as fs } from 'node:fs';
import path from 'node:path';
import { type EnrollmentSecretResponse, type RevokeCredentialsResponse, type RunResponse } from '@berth/contracts';
import { SeededRandom } from '@berth/harness';
import { type FleetSuite, startFleetSuite } from './support/fleet-suite';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function writeTree(root: string): Promise<void> {
  const random = new SeededRandom(55);
  for (let d = 0; d < 8; d++) {
    const dir = path.join(root, `dir-${d}`);
    await fs.mkdir(dir, { recursive: true });
    for (let f = 0; f < 200; f++) await fs.writeFile(path.join(dir, `file-${f}.dat`), random.bytes(random.int(500, 3000)));
  }
}

// An agent's credential revoked in the middle of a backup: the run fails at once, for good, with the reason;
// the receiver ends the agent's session at its next credential check; the agent, shut out of Redis, stops and
// says why. A new enrollment secret lets the same agent in again and the next backup succeeds.
describe('agent credential revoked mid-run', () => {
  let suite: FleetSuite;
  let source: string;

  beforeAll(async () => {
    suite = await startFleetSuite('revoke', {
      receiverEnv: { BERTH_RECEIVER_WRITE_BYTES_PER_SEC: '300000', BERTH_RECEIVER_WRITE_OPS_PER_SEC: '200', BERTH_RECEIVER_CREDENTIAL_CHECK_MS: '1000' },
    });
    source = path.join(suite.work, 'source');
    await writeTree(source);
  }, 180_000);

  afterAll(async () => {
    await suite?.stop();
  });

  it('fails the run, ends the session, stops the agent; re-enrollment lets it back in', async () => {
    const { fleet } = suite;
    const { host, agent } = await fleet.addHostWithAgent({ name: 'e2e-revoke', paths: [source] });
    const queued = await fleet.api.startBackup(host.id);
    let seen: RunResponse = queued;
    const deadline = Date.now() + 60_000;
    while (seen.checkpoint === null && seen.status !== 'succeeded' && Date.now() < deadline) {
      await sleep(100);
      seen = await fleet.api.getRun(queued.id);
    }
    expect(seen.status).toBe('running');

    const revokedAt = Date.now();
    const revoked = await fleet.api.request<RevokeCredentialsResponse>('POST', `/hosts/${host.id}/credentials/revoke`);
    expect(revoked.failedRuns).toEqual([queued.id]);
    const failed = await fleet.api.getRun(queued.id);
    expect(failed).toMatchObject({ status: 'failed', error: 'agent credential revoked', attempts: 1 });

    const exit = await Promise.race([agent.process.exited, sleep(20_000).then(() => null)]);
    const agentStoppedMs = Date.now() - revokedAt;
    expect(exit).toMatchObject({ code: 1 });
    const agentLog = await agent.logs();
    expect(agentLog).toMatch(/refused this agent's credential .*revoked/);
    // The session ends, not ok: ended by the receiver's credential check, or by the agent leaving first.
    const sessionEnd = new RegExp(`session \\S+ end host=${host.id} run=${queued.id} role=backup reason=(?!ok)`);
    const logDeadline = Date.now() + 10_000;
    while (!sessionEnd.test(await fleet.receiver.logs()) && Date.now() < logDeadline) await sleep(200);
    expect(await fleet.receiver.logs()).toMatch(sessionEnd);
    process.stdout.write(`credential revocation: agent stopped ${agentStoppedMs} ms after the revoke call\n`);
    expect(agentStoppedMs).toBeLessThan(15_000);
    // Still failed, and still one attempt: nothing retried it.
    await sleep(1_000);
    expect(await fleet.api.getRun(queued.id)).toMatchObject({ status: 'failed', attempts: 1 });

    const secret = await fleet.api.request<EnrollmentSecretResponse>('POST', `/hosts/${host.id}/enrollment`);
    await fleet.startAgent('e2e-revoke', secret.enrollmentSecret);
    const again = await fleet.api.startBackup(host.id);
    const done = await fleet.api.waitForRun(again.id, { timeoutMs: 120_000, pollMs: 500 });
    expect(done.status).toBe('succeeded');
  });
});
