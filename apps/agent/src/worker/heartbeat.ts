/**
 * The agent's heartbeat: POST heartbeat to the controller every interval, naming the runs this agent holds. The
 * controller keeps the host online while beats arrive, and answers with the held runs an operator asked to cancel
 * (this is how a run waiting in the receiver's line, which sends no progress, learns of a cancel) and the interval
 * to use next. A failed beat costs a log line, never the agent: the next one is tried an interval later.
 */
import { type HeartbeatRequest, type HeartbeatResponse } from '@berth/contracts';
import { errorMessage } from '../errors/agent-error';
import { type Logger } from '../util/logger';

export interface HeartbeatTarget {
  heldRunIds(): string[];
  cancelRun(runId: string): boolean;
}

export interface HeartbeatClient {
  heartbeat(request: HeartbeatRequest): Promise<HeartbeatResponse>;
}

/** Never beat faster than this, whatever the controller says. */
const MIN_INTERVAL_MS = 100;

export class Heartbeat {
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> | null = null;
  private stopped = false;
  private failing = false;

  constructor(
    private readonly client: HeartbeatClient,
    private readonly target: HeartbeatTarget,
    private intervalMs: number,
    private readonly log: Logger,
  ) {}

  /** Beats now, then every interval until stop(). */
  start(): void {
    this.beat();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    await this.inFlight;
  }

  private beat(): void {
    if (this.stopped) return;
    this.inFlight = this.send().finally(() => {
      this.inFlight = null;
      if (this.stopped) return;
      this.timer = setTimeout(() => this.beat(), Math.max(this.intervalMs, MIN_INTERVAL_MS));
      this.timer.unref();
    });
  }

  private async send(): Promise<void> {
    try {
      const answer = await this.client.heartbeat({ runIds: this.target.heldRunIds() });
      this.intervalMs = answer.heartbeatMs;
      for (const runId of answer.cancelRunIds) this.target.cancelRun(runId);
      if (this.failing) this.log.info('heartbeat: the controller answers again');
      this.failing = false;
    } catch (error) {
      if (!this.failing) this.log.warn(`heartbeat failed (will keep trying every ${this.intervalMs} ms): ${errorMessage(error)}`);
      this.failing = true;
    }
  }
}
