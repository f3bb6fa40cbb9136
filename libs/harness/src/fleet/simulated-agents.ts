import { hostQueueName, QUEUE_PREFIX } from '@berth/contracts';
import { Redis } from 'ioredis';

/** A job a simulated agent saw on its host's queue. Times are epoch milliseconds of this machine's clock. */
export interface JobSighting {
  readonly hostId: string;
  readonly jobId: string;
  /** When the host's agent first woke up for a job (the moment a BullMQ worker would ask for it). */
  readonly seenAt: number;
  /** When BullMQ stamped the job (its `timestamp`), plus its delay: when it became available. */
  readonly availableAt: number;
}

export interface SimulatedAgentsOptions {
  readonly redisUrl: string;
  readonly hostIds: readonly string[];
  /** Blocking connections shared by all simulated agents; default 16 (hosts are spread over them). */
  readonly connections?: number;
}

/** Longest a wake-up call blocks, in seconds, so that stop() is never kept waiting longer. */
const BLOCK_SECONDS = 1;

/**
 * Lightweight stand-ins for the agents of many hosts: they learn of new jobs exactly as a BullMQ worker does (a
 * BZPOPMIN on the queue's marker key, which BullMQ's add scripts set when a job becomes waiting), but a handful
 * of connections serve every host: each connection blocks on the markers of its share of the hosts in one
 * multi-key BZPOPMIN and only notes the time of each host's first wake-up, so that the simulation itself adds
 * as little as it can (a BZPOPMIN over many keys answers one key per call: after each, the connection's other
 * markers are swept in one pipeline). Which jobs were waiting, and when BullMQ had
 * stamped them, is read afterwards (jobSightings). The jobs are not taken (no lock, no run): this measures
 * dispatch, from the controller to the moment an agent would take the job; a real worker's move to active is one
 * more round trip. Relies on BullMQ's key layout (`<prefix>:<queue>:marker`, `:wait`, the job hash), which is
 * why this lives in test tooling only. Delayed jobs are not promoted (a real worker does that): use spread 0.
 */
export class SimulatedAgents {
  private readonly wokenAt = new Map<string, number>();
  private readonly waiters = new Set<() => void>();
  private stopping = false;
  private readonly loops: Promise<void>[] = [];

  private constructor(
    private readonly blocking: Redis[],
    private readonly reader: Redis,
  ) {}

  static async start(options: SimulatedAgentsOptions): Promise<SimulatedAgents> {
    const count = Math.max(1, Math.min(options.connections ?? 16, options.hostIds.length));
    const shares: string[][] = Array.from({ length: count }, () => []);
    options.hostIds.forEach((hostId, index) => shares[index % count]?.push(hostId));
    const connect = async (name: string): Promise<Redis> => {
      const client = new Redis(options.redisUrl, { lazyConnect: true, maxRetriesPerRequest: null, connectionName: name });
      client.on('error', () => undefined);
      await client.connect();
      return client;
    };
    const reader = await connect('berth:simulated-agents:reader');
    const blocking = await Promise.all(shares.map((_, index) => connect(`berth:simulated-agents:${index}`)));
    const agents = new SimulatedAgents(blocking, reader);
    shares.forEach((share, index) => agents.loops.push(agents.watch(index, share)));
    return agents;
  }

  /** Blocking connections the simulated agents hold (the reader is not blocking). */
  get blockingConnections(): number {
    return this.blocking.length;
  }

  /** Resolves once `count` hosts' agents have woken up for a job; rejects after `timeoutMs` with how many did. */
  async waitForHosts(count: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.wokenAt.size < count) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`simulated agents of ${this.wokenAt.size} host(s) saw a job within ${timeoutMs} ms, expected ${count}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 250));
        const wake = (): void => {
          clearTimeout(timer);
          this.waiters.delete(wake);
          resolve();
        };
        this.waiters.add(wake);
      });
    }
  }

  /** Every job waiting on the queue of a host whose agent woke up, with that wake-up's time (a few pipelines). */
  async jobSightings(): Promise<JobSighting[]> {
    const hosts = [...this.wokenAt.entries()];
    const lists = await this.reader.pipeline(hosts.map(([hostId]) => ['lrange', `${queueKey(hostId)}:wait`, '0', '-1'])).exec();
    const jobs = hosts.flatMap(([hostId, seenAt], index) => ((lists?.[index]?.[1] ?? []) as string[]).map((jobId) => ({ hostId, jobId, seenAt })));
    const stamps = await this.reader.pipeline(jobs.map((job) => ['hmget', `${queueKey(job.hostId)}:${job.jobId}`, 'timestamp', 'delay'])).exec();
    return jobs.map((job, index) => {
      const [timestamp, delay] = (stamps?.[index]?.[1] ?? []) as (string | null)[];
      return { ...job, availableAt: Number(timestamp ?? 0) + Number(delay ?? 0) };
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const client of this.blocking) client.disconnect();
    await Promise.allSettled(this.loops);
    this.reader.disconnect();
  }

  /**
   * One connection's share of the hosts: block until a marker is set, then sweep the share's other markers in one
   * pipeline (jobs of a tick arrive together), so a wake-up costs about two round trips, not one per host. Each
   * host is watched until its agent first woke up.
   */
  private async watch(index: number, hostIds: string[]): Promise<void> {
    const client = this.blocking[index];
    if (client === undefined) return;
    const hostOfMarker = new Map(hostIds.map((hostId) => [`${queueKey(hostId)}:marker`, hostId]));
    let markers = [...hostOfMarker.keys()];
    const woke = (marker: string, at: number): void => {
      const hostId = hostOfMarker.get(marker);
      if (hostId !== undefined && !this.wokenAt.has(hostId)) this.wokenAt.set(hostId, at);
    };
    while (!this.stopping && markers.length > 0) {
      try {
        const popped = await client.bzpopmin(...markers, BLOCK_SECONDS);
        if (popped === null) continue;
        const [key] = popped;
        woke(key, Date.now());
        const others = markers.filter((marker) => marker !== key);
        const swept = others.length === 0 ? [] : ((await client.pipeline(others.map((marker) => ['zpopmin', marker])).exec()) ?? []);
        const at = Date.now();
        swept.forEach(([, members], position) => {
          const marker = others[position];
          if (marker !== undefined && Array.isArray(members) && members.length > 0) woke(marker, at);
        });
      } catch (error) {
        if (this.stopping) break;
        throw error;
      }
      markers = markers.filter((marker) => !this.wokenAt.has(hostOfMarker.get(marker) ?? ''));
      for (const wake of [...this.waiters]) wake();
    }
  }
}

function queueKey(hostId: string): string {
  return `${QUEUE_PREFIX}:${hostQueueName(hostId)}`;
}
