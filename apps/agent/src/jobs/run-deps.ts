/** Explicit dependencies of the run services: everything that talks to the outside world. */
import { type RunReporter } from '../controller/controller-client';
import { type SentLedger } from '../backup/resend-tracker';
import { type ReceiverConnector } from '../receiver/receiver-connector';
import { type Logger } from '../util/logger';

export interface RunDeps {
  /** Controller's agent API (runStart, runProgress, runFinish). */
  readonly controller: RunReporter;
  /** Opens a session to the receiver. */
  readonly connector: ReceiverConnector;
  /** This agent's host and credential (sent in Hello). */
  readonly hostId: string;
  readonly credential: string;
  readonly log: Logger;
  /** Aborts the run (worker shutdown). */
  readonly signal?: AbortSignal;
  /** Progress reports at most this often (default 1000 ms). */
  readonly progressIntervalMs?: number;
  /** How far each run's attempts got (kept across the attempts this process runs), to count what is sent again. */
  readonly sentLedger?: SentLedger;
}

export const AGENT_VERSION = '0.1.0';
