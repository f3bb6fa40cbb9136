import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetricsEndpoint } from '../src/server/metrics-endpoint';
import { startReceiver, type ReceiverFixture } from './support/receiver-fixture';
import { makeSampleTree } from './support/sample-tree';
import { runBackup } from './support/test-agent';
import { waitFor } from './support/wait-for';

const host = { hostId: randomUUID(), hostName: 'metrics', credential: 'secret' };

let fx: ReceiverFixture;
let endpoint: MetricsEndpoint;
let base: string;
let source: string;

beforeAll(async () => {
  fx = await startReceiver({ maxSessions: 3 });
  fx.verifier.addHost(host);
  endpoint = new MetricsEndpoint(() => fx.receiver.metrics());
  const address = await endpoint.listen('127.0.0.1', 0);
  base = `http://127.0.0.1:${address.port}`;
  source = await mkdtemp(join(tmpdir(), 'berth-metrics-'));
  await makeSampleTree(source);
});

afterAll(async () => {
  await endpoint.close();
  await fx.stop();
  await rm(source, { recursive: true, force: true });
});

async function scrape(): Promise<Map<string, number>> {
  const response = await fetch(`${base}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const values = new Map<string, number>();
  for (const line of (await response.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-z_]+) (-?[0-9.e+]+|NaN)$/.exec(line);
    if (match === null) throw new Error(`not a Prometheus sample line: "${line}"`);
    values.set(match[1] ?? '', Number(match[2]));
  }
  return values;
}

describe('receiver metrics over HTTP', () => {
  it('serves every metric in Prometheus text format, reflecting live connections and commits', async () => {
    const idle = await scrape();
    expect([...idle.keys()].sort()).toEqual(
      [
        'berth_receiver_bytes_in_flight',
        'berth_receiver_bytes_per_second',
        'berth_receiver_commit_latency_average_ms',
        'berth_receiver_commit_latency_last_ms',
        'berth_receiver_commit_latency_max_ms',
        'berth_receiver_commits_total',
        'berth_receiver_connections',
        'berth_receiver_credit_bytes_outstanding',
        'berth_receiver_credit_ops_outstanding',
        'berth_receiver_ops_in_flight',
        'berth_receiver_ops_per_second',
        'berth_receiver_repository_damaged',
        'berth_receiver_sessions_waiting',
        'berth_receiver_slots_busy',
        'berth_receiver_slots_limit',
      ].sort(),
    );
    expect(idle.get('berth_receiver_connections')).toBe(0);
    expect(idle.get('berth_receiver_slots_limit')).toBe(3);
    expect(idle.get('berth_receiver_commits_total')).toBe(0);
    expect(idle.get('berth_receiver_repository_damaged')).toBe(0);

    // An idle connection that has not said Hello yet is counted.
    const socket = net.connect(fx.port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    await waitFor(() => fx.receiver.metrics().connections === 1, 'the connection to be accepted');
    expect((await scrape()).get('berth_receiver_connections')).toBe(1);
    socket.destroy();

    const runId = randomUUID();
    fx.verifier.addRun({ runId, hostId: host.hostId, kind: 'backup' });
    const result = await runBackup({ port: fx.port, ...host, runId, root: source });
    expect(result.done).not.toBeNull();
    await fx.sessionEnded(runId);
    const after = await scrape();
    expect(after.get('berth_receiver_commits_total')).toBeGreaterThan(0);
    expect(after.get('berth_receiver_commit_latency_max_ms')).toBeGreaterThanOrEqual(0);
    expect(after.get('berth_receiver_slots_busy')).toBe(0);
  });

  it('answers 404 for other paths and 405 for other methods', async () => {
    expect((await fetch(`${base}/`)).status).toBe(404);
    const post = await fetch(`${base}/metrics`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });
});
