import { type RepositoryApi } from '@berth/repository';
import { ErrorCode, WireError } from '@berth/wire';
import { once } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import { Admission } from '../admission/admission';
import { DigestIndexStore } from '../backup/digest-index';
import { SIGNATURE_CACHE_MAX_IDLE_MS, SignatureCache } from '../backup/signature-cache';
import { FixedSlotPolicy, type SlotPolicy } from '../admission/slot-policy';
import { DEFAULT_CREDENTIAL_CHECK_MS, type ReceiverLimits } from '../config/receiver-config';
import { type Logger } from '../util/logger';
import { type SessionVerifier } from '../verify/session-verifier';
import { ReceiverMetrics, type ReceiverMetricsSnapshot } from './metrics';
import { Session } from './session-handler';

/** How often the kept signatures are brought within their limits (the byte limit may be exceeded this long). */
const SIGNATURE_PRUNE_MS = 3_600_000;

export interface ReceiverOptions {
  readonly repository: RepositoryApi;
  readonly verifier: SessionVerifier;
  readonly limits: ReceiverLimits;
  readonly logger: Logger;
  /** PEM certificate and key: TLS when given. */
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer } | null;
  /** Defaults to a fixed number of slots, limits.maxSessions. */
  readonly slotPolicy?: SlotPolicy;
  /** How often open sessions' credentials are checked again (one call for all); default DEFAULT_CREDENTIAL_CHECK_MS. */
  readonly credentialCheckMs?: number;
}

/** Connections beyond this are refused at accept time, whatever their state. */
const MAX_CONNECTIONS = 1024;

/** The `berth receiver` TCP (or TLS) service: accepts agents, one Session per connection. */
export class Receiver {
  private readonly server: net.Server;
  private readonly sessions = new Set<Session>();
  private readonly runs = new Map<string, Session>();
  private readonly admission: Admission;
  private readonly slotPolicy: SlotPolicy;
  private readonly metricsState: ReceiverMetrics;
  /** Directory digest indexes, one store for all sessions (DigestIndexStore orders a host's saves and loads). */
  private readonly digests: DigestIndexStore;
  private closing: Promise<void> | null = null;
  private readonly credentialCheck: NodeJS.Timeout;
  private checking = false;
  /** Keeps the kept signatures within their limits (SignatureCache.prune), every SIGNATURE_PRUNE_MS while listening. */
  private signaturePrune: NodeJS.Timeout | null = null;
  private pruning = false;
  /** Host histories being read ahead of their sessions' verification (readAhead). */
  private readsAhead = 0;

  constructor(private readonly options: ReceiverOptions) {
    this.slotPolicy = options.slotPolicy ?? new FixedSlotPolicy(options.limits.maxSessions);
    this.admission = new Admission(this.slotPolicy);
    this.digests = new DigestIndexStore(options.repository.root, options.repository.damage?.id ?? null);
    this.metricsState = new ReceiverMetrics((ms) => {
      this.slotPolicy.observeCommitLatency(ms);
      this.admission.rebalance();
    });
    const onSocket = (socket: net.Socket): void => this.accept(socket);
    this.server =
      options.tls === null || options.tls === undefined
        ? net.createServer(onSocket)
        : tls.createServer({ cert: options.tls.cert, key: options.tls.key, minVersion: 'TLSv1.2' }, onSocket);
    this.server.maxConnections = MAX_CONNECTIONS;
    // A TLS handshake that fails never becomes a session; it must not take the server down.
    this.server.on('tlsClientError', (error: Error) => options.logger.error(`tls handshake failed: ${error.message}`));
    this.credentialCheck = setInterval(() => void this.checkCredentials(), options.credentialCheckMs ?? DEFAULT_CREDENTIAL_CHECK_MS);
    this.credentialCheck.unref();
  }

  /**
   * Ends the open sessions whose credential the controller no longer accepts (revoked since their Hello): one
   * call for all of them per period, skipped while none is open. When the controller cannot answer, sessions go
   * on until a check succeeds (new sessions cannot start meanwhile: their Hello needs the controller).
   */
  async checkCredentials(): Promise<void> {
    if (this.checking || this.closing !== null) return;
    const byCredential = new Map<string, Session[]>();
    for (const session of this.sessions) {
      const id = session.credentialId;
      if (id !== null) byCredential.set(id, [...(byCredential.get(id) ?? []), session]);
    }
    if (byCredential.size === 0) return;
    this.checking = true;
    try {
      const invalid = await this.options.verifier.invalidCredentials([...byCredential.keys()]);
      for (const id of invalid) {
        for (const session of byCredential.get(id) ?? []) {
          this.options.logger.info(`session ${session.id}: agent credential ${id} revoked; ending the session`);
          session.abort(new WireError(ErrorCode.Unauthorized, 'agent credential revoked'));
        }
      }
    } catch (error) {
      this.options.logger.error(`credential check failed: ${(error as Error).message}`);
    } finally {
      this.checking = false;
    }
  }

  get tls(): boolean {
    return this.options.tls !== null && this.options.tls !== undefined;
  }

  async listen(host: string, port: number): Promise<net.AddressInfo> {
    // Digest caches written under another state of the repository (before a damaging recovery) are never read again.
    for (const folder of await this.digests.removeStale()) this.options.logger.info(`removed directory digests recorded before the repository's last damaging recovery (${folder})`);
    this.server.listen(port, host);
    await once(this.server, 'listening');
    // Off the start-up path: a stat per kept signature, on a cache that may hold many.
    void this.pruneSignatures();
    this.signaturePrune ??= setInterval(() => void this.pruneSignatures(), SIGNATURE_PRUNE_MS);
    this.signaturePrune.unref();
    return this.server.address() as net.AddressInfo;
  }

  metrics(): ReceiverMetricsSnapshot {
    const credit = { availableBytes: 0, availableOps: 0, inFlightBytes: 0, inFlightOps: 0 };
    for (const session of this.sessions) {
      const state = session.creditState();
      if (state === null) continue;
      credit.availableBytes += state.availableBytes;
      credit.availableOps += state.availableOps;
      credit.inFlightBytes += state.inFlightBytes;
      credit.inFlightOps += state.inFlightOps;
    }
    return this.metricsState.snapshot(this.admission, this.sessions.size, credit, this.options.repository.damage !== null);
  }

  private async pruneSignatures(): Promise<void> {
    if (this.pruning) return;
    this.pruning = true;
    try {
      const maxBytes = this.options.limits.signatureCacheMaxBytes;
      const { idle, overLimit, bytes } = await new SignatureCache(this.options.repository.root).prune({ maxIdleMs: SIGNATURE_CACHE_MAX_IDLE_MS, maxBytes });
      if (idle > 0) this.options.logger.info(`removed ${idle} kept signatures of large files unused for ${SIGNATURE_CACHE_MAX_IDLE_MS / 86_400_000} days`);
      if (overLimit > 0) this.options.logger.info(`removed ${overLimit} least recently used kept signatures of large files: ${bytes} bytes kept, at most ${maxBytes}`);
    } finally {
      this.pruning = false;
    }
  }

  /** Stops accepting, ends every session with Error(shutting_down) and waits for them. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    clearInterval(this.credentialCheck);
    if (this.signaturePrune !== null) clearInterval(this.signaturePrune);
    const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()));
    const reason = new WireError(ErrorCode.ShuttingDown, 'the receiver is shutting down');
    const sessions = [...this.sessions];
    for (const session of sessions) session.abort(reason);
    await Promise.all(sessions.map((session) => session.finished));
    await stopped;
  }

  private accept(socket: net.Socket): void {
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 30_000);
    const peer = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    if (this.closing !== null) {
      socket.destroy();
      return;
    }
    const session = new Session(socket, peer, {
      repo: this.options.repository,
      digests: this.digests,
      verifier: this.options.verifier,
      admission: this.admission,
      limits: this.options.limits,
      metrics: this.metricsState,
      logger: this.options.logger,
      claimRun: (runId, claimant) => this.claimRun(runId, claimant),
      readAhead: (runId, read) => this.readAhead(runId, read),
      releaseRun: (runId, holder) => {
        if (this.runs.get(runId) === holder) this.runs.delete(runId);
      },
    });
    this.sessions.add(session);
    void session.finished.finally(() => this.sessions.delete(session));
  }

  /**
   * A run has one live session: a reconnecting agent supersedes the old one, which is ended and awaited. True when
   * one was.
   */
  private async claimRun(runId: string, claimant: Session): Promise<boolean> {
    let superseded = false;
    for (;;) {
      const holder = this.runs.get(runId);
      if (holder === undefined || holder === claimant) break;
      superseded = true;
      holder.abort(new WireError(ErrorCode.Protocol, 'superseded by a newer connection of the same run'));
      await holder.finished;
      if (this.runs.get(runId) === holder) this.runs.delete(runId);
    }
    this.runs.set(runId, claimant);
    return superseded;
  }

  /**
   * Starts `read` (a host's history, before the controller has verified the session) when the session would be
   * admitted at once and no live session holds its run; else null, and the session reads after admission. Reads
   * started so, verified or not, are at most as many as the free slots: peers the controller will refuse cannot
   * make the receiver read more than admitted sessions would.
   */
  private readAhead<T>(runId: string, read: () => Promise<T>): Promise<T> | null {
    if (this.runs.has(runId) || this.readsAhead >= this.admission.freeSlots) return null;
    this.readsAhead += 1;
    const reading = read();
    const done = (): void => {
      this.readsAhead -= 1;
    };
    void reading.then(done, done);
    return reading;
  }
}
