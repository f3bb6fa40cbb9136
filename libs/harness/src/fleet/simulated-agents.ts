import { hostQueueName, QUEUE_PREFIX } from '@berth/contracts';
import { Redis } from 'ioredis';

/** A job a simulated agent saw on its host's queue. Times are epoch milliseconds of this machine's clock. */
export interface JobSighting {
  readonly hostId: string;
  readonly jobId: string;
  /** When the agent's wake-up returned (the moment a BullMQ worker would ask for the job). */
  readonly seenAt: number;
  /** When BullMQ stamped the job (its `timestamp`), plus its delay: when it became available. */
  readonly availableAt: number;
}

export interface SimulatedAgentsOptions {
  readonly redisUrl: string;
  readonly hostIds: readonly string[];
  /** Blocking connections shared by all simulated agents; default 8 (hosts are spread over them). */
  readonly connections?: number;
}

/** Longest a wake-up call blocks, in seconds, so that stop() is never kept waiting longer. */
const BLOCK_SECONDS = 1;

/**
 * Lightweight stand-ins for the agents of many hosts: they learn of new jobs exactly as a BullMQ worker does (a
 * BZPOPMIN on the queue's marker key, which BullMQ's add scripts set when a job becomes waiting), but a handful
 * of connections serve every host: each connection blocks on the markers of its share of the hosts in one
 * multi-key BZPOPMIN. On a wake-up the host's wait list is read and each new job recorded with when it was
 * seen. The jobs are not taken (no lock, no run): this measures dispatch, from the controller to the moment an
 * agent would take the job; a real worker's move to active is one more round trip. Relies on BullMQ's key
 * layout (`<prefix>:<queue>:marker`, `:wait`, the job hash), which is why this lives in test tooling only.
 * Delayed jobs are not promoted (a real worker does that): use spread 0.
 */
export class SimulatedAgents {
  private readonly seen = new Map<string, JobSighting>();
  private readonly waiters = new Set<() => void>();
  private stopping = false;
  private readonly loops: Promise<void>[] = [];

  private constructor(
    private readonly blocking: Redis[],
    private readonly reader: Redis,
    private readonly shares: string[][],
  ) {}

  static async start(options: SimulatedAgentsOptions): Promise<SimulatedAgents> {
    const count = Math.max(1, Math.min(options.connections ?? 8, options.hostIds.length));
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
    const agents = new SimulatedAgents(blocking, reader, shares);
    agents.shares.forEach((share, index) => agents.loops.push(agents.watch(index, share)));
    return agents;
  }

  /** Blocking connections the simulated agents hold (the reader is not blocking). */
  get blockingConnections(): number {
    return this.blocking.length;
  }

  sightings(): JobSighting[] {
    return [...this.seen.values()];
  }

  /** Resolves once `count` jobs have been seen; rejects after `timeoutMs` with how many were. */
  async waitForSightings(count: number, timeoutMs: number): Promise<JobSighting[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.seen.size < count) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`simulated agents saw ${this.seen.size} job(s) within ${timeoutMs} ms, expected ${count}`);
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
    return this.sightings();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const client of this.blocking) client.disconnect();
    await Promise.allSettled(this.loops);
    this.reader.disconnect();
  }

  private async watch(index: number, hostIds: string[]): Promise<void> {
    const client = this.blocking[index];
    if (client === undefined || hostIds.length === 0) return;
    const hostOfMarker = new Map(hostIds.map((hostId) => [markerKey(hostId), hostId]));
    const markers = [...hostOfMarker.keys()];
    const pending: Promise<void>[] = [];
    while (!this.stopping) {
      let popped: [string, string, string] | null;
      try {
        popped = (await client.bzpopmin(...markers, BLOCK_SECONDS)) as [string, string, string] | null;
      } catch (error) {
        if (this.stopping) break;
        throw error;
      }
      if (popped === null) continue;
      const seenAt = Date.now();
      const hostId = hostOfMarker.get(popped[0]);
      // Reading the wait list runs on the reader while this connection blocks again for the next host.
      if (hostId !== undefined) pending.push(this.record(hostId, seenAt));
    }
    await Promise.allSettled(pending);
  }

  private async record(hostId: string, seenAt: number): Promise<void> {
    const queueKey = `${QUEUE_PREFIX}:${hostQueueName(hostId)}`;
    const jobIds = (await this.reader.lrange(`${queueKey}:wait`, 0, -1)).filter((jobId) => !this.seen.has(`${hostId}/${jobId}`));
    for (const jobId of jobIds) {
      const [timestamp, delay] = await this.reader.hmget(`${queueKey}:${jobId}`, 'timestamp', 'delay');
      const key = `${hostId}/${jobId}`;
      // A wake-up that raced this one may have recorded the job already, with the earlier time.
      if (!this.seen.has(key)) this.seen.set(key, { hostId, jobId, seenAt, availableAt: Number(timestamp ?? 0) + Number(delay ?? 0) });
    }
    for (const wake of [...this.waiters]) wake();
  }
}

function markerKey(hostId: string): string {
  return `${QUEUE_PREFIX}:${hostQueueName(hostId)}:marker`;
}
