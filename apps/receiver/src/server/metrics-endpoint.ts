import { once } from 'node:events';
import http from 'node:http';
import { type AddressInfo } from 'node:net';
import { type ReceiverMetricsSnapshot } from './metrics';

type Gauge = { readonly name: string; readonly help: string; readonly value: (m: ReceiverMetricsSnapshot) => number; readonly type?: 'gauge' | 'counter' };

const GAUGES: readonly Gauge[] = [
  { name: 'berth_receiver_slots_busy', help: 'Sessions holding a repository slot (writing).', value: (m) => m.slotsBusy },
  { name: 'berth_receiver_slots_limit', help: 'Slots the admission policy allows now (adaptive: moves up to max sessions).', value: (m) => m.slotsLimit },
  { name: 'berth_receiver_sessions_waiting', help: 'Agents waiting in line for a slot.', value: (m) => m.sessionsWaiting },
  { name: 'berth_receiver_connections', help: 'Open agent connections.', value: (m) => m.connections },
  { name: 'berth_receiver_credit_bytes_outstanding', help: 'Byte credit granted to agents and not yet spent.', value: (m) => m.creditBytesOutstanding },
  { name: 'berth_receiver_credit_ops_outstanding', help: 'Entry credit granted to agents and not yet spent.', value: (m) => m.creditOpsOutstanding },
  { name: 'berth_receiver_bytes_in_flight', help: 'Bytes received and not yet durable.', value: (m) => m.bytesInFlight },
  { name: 'berth_receiver_ops_in_flight', help: 'Entries received and not yet durable.', value: (m) => m.opsInFlight },
  { name: 'berth_receiver_commit_latency_last_ms', help: 'Latency of the last directory commit.', value: (m) => m.commitLatencyMs.last },
  { name: 'berth_receiver_commit_latency_average_ms', help: 'Exponentially weighted average commit latency.', value: (m) => m.commitLatencyMs.average },
  { name: 'berth_receiver_commit_latency_max_ms', help: 'Largest commit latency since start.', value: (m) => m.commitLatencyMs.max },
  { name: 'berth_receiver_commits_total', help: 'Directory commits since start.', value: (m) => m.commitLatencyMs.count, type: 'counter' },
  { name: 'berth_receiver_bytes_per_second', help: 'Content bytes received per second (10 s window).', value: (m) => m.bytesPerSecond },
  { name: 'berth_receiver_ops_per_second', help: 'File operations per second (10 s window).', value: (m) => m.opsPerSecond },
  {
    name: 'berth_receiver_repository_damaged',
    help: 'Whether a crash recovery may have lost objects stored trees refer to (1: see damage.json; older snapshots may have holes, new ones are checked).',
    value: (m) => m.repositoryDamaged,
  },
];

/** The snapshot in the Prometheus text exposition format (version 0.0.4). */
export function formatPrometheus(metrics: ReceiverMetricsSnapshot): string {
  return GAUGES.map((g) => `# HELP ${g.name} ${g.help}\n# TYPE ${g.name} ${g.type ?? 'gauge'}\n${g.name} ${formatNumber(g.value(metrics))}\n`).join('');
}

function formatNumber(value: number): string {
  return Number.isFinite(value) ? String(Math.round(value * 1000) / 1000) : 'NaN';
}

/** GET /metrics on a plain HTTP server; anything else is 404 (405 for other methods on /metrics). */
export class MetricsEndpoint {
  private readonly server: http.Server;

  constructor(private readonly read: () => ReceiverMetricsSnapshot) {
    this.server = http.createServer((request, response) => this.answer(request, response));
  }

  async listen(host: string, port: number): Promise<AddressInfo> {
    this.server.listen(port, host);
    await once(this.server, 'listening');
    return this.server.address() as AddressInfo;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private answer(request: http.IncomingMessage, response: http.ServerResponse): void {
    const path = (request.url ?? '/').split('?')[0];
    if (path !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found: GET /metrics\n');
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    const body = formatPrometheus(this.read());
    response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    response.end(request.method === 'HEAD' ? undefined : body);
  }
}
