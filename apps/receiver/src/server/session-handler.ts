import { type VerifySessionResponse } from '@berth/contracts';
import { type RepositoryApi } from '@berth/repository';
import { ErrorCode, FramedConnection, MessageType, MIN_PROTOCOL_VERSION, PROTOCOL_VERSION, WireError, type HelloMessage, type Message } from '@berth/wire';
import { randomUUID } from 'node:crypto';
import { type Duplex } from 'node:stream';
import { AdmissionAbortedError, type Admission, type Slot } from '../admission/admission';
import { BackupSession, readHostHistory, type HostHistory } from '../backup/backup-session';
import { type DigestIndexStore } from '../backup/digest-index';
import { type ReceiverLimits } from '../config/receiver-config';
import { RestoreSession } from '../restore/restore-session';
import { protocolError, toWireError } from '../session/errors';
import { type SessionContext } from '../session/session-context';
import { withDeadline } from '../util/deadline';
import { type Logger } from '../util/logger';
import { type SessionVerifier } from '../verify/session-verifier';
import { type ReceiverMetrics } from './metrics';

export interface SessionDeps {
  readonly repo: RepositoryApi;
  /** The directory digest indexes of all sessions (a host's next session waits for the last one's save). */
  readonly digests: DigestIndexStore;
  readonly verifier: SessionVerifier;
  readonly admission: Admission;
  readonly limits: ReceiverLimits;
  readonly metrics: ReceiverMetrics;
  readonly logger: Logger;
  /** Ends an older live session of the same run and resolves once it is gone: true when there was one. */
  readonly claimRun: (runId: string, session: Session) => Promise<boolean>;
  /** Starts reading ahead of the session's verification, or null when the session must read after admission. */
  readonly readAhead: <T>(runId: string, read: () => Promise<T>) => Promise<T> | null;
  readonly releaseRun: (runId: string, session: Session) => void;
}

/** How long after Done or RestoreDone the agent gets to close its side before we do. */
const GOODBYE_MS = 5000;

/**
 * One connection from Hello to close: verification, admission, then a backup or restore session. Whatever
 * goes wrong ends this connection only, with an Error frame naming the reason.
 */
export class Session {
  readonly id = randomUUID();
  readonly conn: FramedConnection;
  private readonly inbox: AsyncIterator<Message>;
  private readonly started = new Date();
  private hostId = '-';
  private runId = '-';
  private role = '-';
  private backup: BackupSession | null = null;
  private verifiedCredentialId: string | null = null;
  readonly finished: Promise<void>;

  constructor(
    stream: Duplex,
    private readonly peer: string,
    private readonly deps: SessionDeps,
  ) {
    this.conn = new FramedConnection(stream, { maxFrameBytes: deps.limits.maxFrameBytes, heartbeatMs: deps.limits.heartbeatMs, idleTimeoutMs: deps.limits.idleTimeoutMs });
    this.inbox = this.conn[Symbol.asyncIterator]();
    this.finished = this.run();
  }

  /** Ends the session with `reason` (e.g. shutting down, superseded); `finished` resolves once it is over. */
  abort(reason: WireError): void {
    this.conn.close(reason);
  }

  /** The agent credential the controller vouched for; null until then. */
  get credentialId(): string | null {
    return this.verifiedCredentialId;
  }

  creditState(): ReturnType<BackupSession['creditState']> | null {
    return this.backup?.creditState() ?? null;
  }

  private async run(): Promise<void> {
    const abortWaiting = new AbortController();
    this.conn.once('close', () => abortWaiting.abort());
    let slot: Slot | null = null;
    let summary = '';
    let reason: WireError | null = null;
    let claimed = false;
    try {
      const hello = await this.readHello();
      this.hostId = hello.hostId;
      this.runId = hello.runId;
      this.role = hello.role;
      // The host's history only reads, so it is read while the controller verifies the session (whose request goes
      // out first), when the session would be admitted at once (readAhead). It is used only once the controller has
      // vouched for the host Hello names (a refused session drops it unused, and its error), and only when the
      // session neither superseded another of its run nor waited for a slot: then what it read may have changed.
      const verifying = this.verify(hello);
      let history = hello.role === 'backup' ? this.deps.readAhead(hello.runId, () => readHostHistory(this.deps.repo, this.deps.digests, hello.hostId, hello.protocol)) : null;
      void history?.catch(() => undefined);
      const verified = await verifying;
      this.verifiedCredentialId = verified.credentialId;
      this.deps.logger.info(`session ${this.id} start host=${this.hostId} run=${this.runId} role=${this.role} attempt=${verified.attempt} peer=${this.peer}`);
      if (hello.role === 'backup') {
        if (await this.deps.claimRun(hello.runId, this)) history = null;
        claimed = true;
      }
      // v2 agents learn this receiver's timers while waiting, so they heartbeat fast enough for its idle timeout.
      const timers = hello.protocol >= 2 ? { heartbeatMs: this.deps.limits.heartbeatMs, idleTimeoutMs: this.deps.limits.idleTimeoutMs } : null;
      slot = await this.deps.admission.acquire((position) => {
        history = null;
        void this.conn.send({ type: MessageType.Wait, position, timers }).catch(() => undefined);
      }, abortWaiting.signal);
      const ctx: SessionContext = {
        sessionId: this.id,
        hostId: verified.hostId,
        hostName: verified.hostName,
        runId: verified.runId,
        attempt: verified.attempt,
        startedAt: this.started,
        protocol: hello.protocol,
      };
      summary = hello.role === 'backup' ? await this.runBackup(ctx, history) : await this.runRestore(ctx, verified);
      await this.goodbye();
    } catch (error) {
      reason = error instanceof AdmissionAbortedError ? (this.conn.closeReason ?? new WireError(ErrorCode.ConnectionLost, 'closed while waiting', true)) : toWireError(error);
      this.conn.close(reason);
    } finally {
      slot?.release();
      if (claimed) this.deps.releaseRun(this.runId, this);
      await this.conn.whenClosed();
      this.logEnd(reason, summary);
    }
  }

  private async readHello(): Promise<HelloMessage> {
    const first = await withDeadline(this.inbox.next(), this.deps.limits.helloTimeoutMs, () => new WireError(ErrorCode.Timeout, `no Hello within ${this.deps.limits.helloTimeoutMs} ms`));
    if (first.done === true) throw new WireError(ErrorCode.ConnectionLost, 'closed before Hello', true);
    const msg = first.value;
    if (msg.type !== MessageType.Hello) throw protocolError(`the first message must be Hello, got type ${msg.type}`);
    if (msg.protocol < MIN_PROTOCOL_VERSION || msg.protocol > PROTOCOL_VERSION) {
      throw protocolError(`protocol ${msg.protocol} is not supported (this receiver speaks ${MIN_PROTOCOL_VERSION} to ${PROTOCOL_VERSION})`);
    }
    return msg;
  }

  /** The controller vouches for the credential, host and run; the answer must match what the agent claimed. */
  private async verify(hello: HelloMessage): Promise<VerifySessionResponse> {
    const verified = await this.deps.verifier.verify({ hostId: hello.hostId, runId: hello.runId, credential: hello.credential });
    if (verified.hostId !== hello.hostId || verified.runId !== hello.runId) throw new WireError(ErrorCode.Forbidden, 'the run does not belong to this host');
    if (verified.kind !== hello.role) throw new WireError(ErrorCode.Forbidden, `run ${hello.runId} is a ${verified.kind} run, not a ${hello.role} session`);
    if (hello.role === 'restore' && verified.restore === null) throw new WireError(ErrorCode.Forbidden, `run ${hello.runId} grants no snapshot to read`);
    return verified;
  }

  private async runBackup(ctx: SessionContext, history: Promise<HostHistory> | null): Promise<string> {
    this.backup = new BackupSession(this.conn, this.inbox, this.deps.repo, ctx, this.deps.limits, this.deps.metrics, this.deps.digests, history);
    const outcome = await this.backup.run();
    for (const failure of outcome.afterPublish) this.deps.logger.error(`session ${this.id} run=${this.runId}: snapshot ${outcome.snapshotId} published, but ${failure}`);
    return `snapshot=${outcome.snapshotId} files=${outcome.stats.files} bytes=${outcome.stats.bytes} fileErrors=${outcome.fileErrors}`;
  }

  private async runRestore(ctx: SessionContext, verified: VerifySessionResponse): Promise<string> {
    await this.conn.send({
      type: MessageType.Welcome,
      sessionId: ctx.sessionId,
      attempt: ctx.attempt,
      committedDirs: [],
      maxFrameBytes: this.deps.limits.maxFrameBytes,
      chunkMaxEntries: this.deps.limits.chunkMaxEntries,
      chunkMaxBytes: this.deps.limits.chunkMaxBytes,
      heartbeatMs: this.deps.limits.heartbeatMs,
      idleTimeoutMs: this.deps.limits.idleTimeoutMs,
      creditBytes: 0,
      creditOps: 0,
      resumeDirs: [],
      sentThrough: null,
      previousSnapshot: null,
    });
    const outcome = await new RestoreSession(this.conn, this.inbox, this.deps.repo, verified.restore as NonNullable<VerifySessionResponse['restore']>, ctx.protocol).run();
    return `snapshot=${outcome.snapshotId} entries=${outcome.entries} bytes=${outcome.bytes}`;
  }

  /** After the last message the agent closes first; we close anyway when it does not within GOODBYE_MS. */
  private async goodbye(): Promise<void> {
    let timer: NodeJS.Timeout | null = null;
    await Promise.race([this.conn.whenClosed(), new Promise<void>((resolve) => (timer = setTimeout(resolve, GOODBYE_MS)))]);
    if (timer !== null) clearTimeout(timer);
    this.conn.close();
  }

  private logEnd(reason: WireError | null, summary: string): void {
    const stats = this.conn.stats;
    const backup = this.backup?.stats;
    const outcome = reason === null ? 'ok' : `${reason.remote ? 'peer:' : ''}${reason.code}`;
    const received =
      backup === undefined
        ? ''
        : ` received=${backup.bytesReceived} stored=${backup.bytesStored} deltaFiles=${backup.deltaFiles} deltaRetries=${backup.deltaRetries}` +
          ` signatureFailures=${backup.signatureFailures} offersKnown=${backup.offersKnown} bytesNotSent=${backup.bytesNotSent}` +
          ` filesResumed=${backup.filesResumed} bytesResumed=${backup.bytesResumed} digestsReceived=${backup.digestsReceived} dirsReused=${backup.dirsReused} signaturesKept=${backup.signaturesKept}` +
          (backup.filesLost + backup.dirsLost > 0 ? ` filesLost=${backup.filesLost} dirsLost=${backup.dirsLost}` : '');
    const line =
      `session ${this.id} end host=${this.hostId} run=${this.runId} role=${this.role} reason=${outcome}` +
      `${reason === null ? '' : ` (${reason.message})`} ${summary}${summary === '' ? '' : ' '}bytesIn=${stats.bytesIn} bytesOut=${stats.bytesOut}${received}` +
      ` durationMs=${Date.now() - this.started.getTime()}`;
    if (reason === null) this.deps.logger.info(line);
    else this.deps.logger.error(line);
  }
}
