import { type BeforeApplicationShutdown, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { RUN_FILE_ERRORS_SHOWN } from '../dtos/run.dto';
import { ApiTokenRepository } from '../repositories/api-token.repository';
import { CredentialRepository } from '../repositories/credential.repository';
import { DatabaseRepository } from '../repositories/database.repository';
import { HostRepository } from '../repositories/host.repository';
import { type RunEnd, RunRepository } from '../repositories/run.repository';
import { BACKUP_DONE_CHECKPOINT, RUN_FILE_ERRORS_KEPT } from './run-end.util';

/** An id no row has: ids are random (version 4) UUIDs, and this one is all zeros. */
export const NO_SUCH_ID = '00000000-0000-0000-0000-000000000000';
/** A secret hash no credential or token has (hashes are SHA-256 hex of random secrets). */
const NO_SUCH_HASH = '0'.repeat(64);

/**
 * Primes the database path of a backup when the controller starts, so the first backup after a start does not
 * pay for it:
 * - opens the pool's standing connections;
 * - runs each statement that a backup's requests run, once, with ids that match no row: the trigger, the agent's
 *   authentication and calls (start, progress, finish), the receiver's session check and the polling of the run.
 *   Prisma compiles the plan of a query on its first use: 1 to 60 ms a query here, against under 1 ms afterwards.
 *
 * It runs in the background from the start (the controller answers meanwhile). Nothing is written: every statement
 * finds no row (the updates that need one fail with "not found", as expected here). Another failure is logged and
 * changes nothing else: that statement then compiles on its first real use.
 */
@Injectable()
export class DatabaseWarmupService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('DatabaseWarmup');
  private running: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly database: DatabaseRepository,
    private readonly hosts: HostRepository,
    private readonly credentials: CredentialRepository,
    private readonly tokens: ApiTokenRepository,
    private readonly runs: RunRepository,
  ) {}

  onApplicationBootstrap(): void {
    this.running = this.warm().catch((error: unknown) => this.logger.warn(`Database warm-up failed: ${describe(error)}`));
  }

  /** Shutdown waits for the warm-up: the pool it uses closes after this. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.running;
  }

  /** Opens the standing connections and primes the statements; says which failed otherwise than "not found". */
  async warm(): Promise<{ readonly unexpected: readonly string[] }> {
    const started = performance.now();
    await this.database.openStandingConnections();
    const unexpected = (await this.primeStatements()).filter((reason) => !isNotFound(reason)).map(describe);
    if (unexpected.length > 0) this.logger.warn(`Database warm-up: ${unexpected.length} statement(s) failed, the first: ${unexpected[0]}`);
    this.logger.log(`Database connections and the backup path's query plans warmed in ${Math.round(performance.now() - started)} ms`);
    return { unexpected };
  }

  /** Runs the statements one after the other (as requests do) and returns why those that threw did. */
  private async primeStatements(): Promise<unknown[]> {
    const now = new Date();
    const steps: (() => Promise<unknown>)[] = [
      // A request's authentication: an API token, an agent's credential (and its use recorded).
      () => this.tokens.findBySecretHash(NO_SUCH_HASH),
      () => this.tokens.touch(NO_SUCH_ID, now, 0),
      () => this.credentials.findActiveBySecretHash(NO_SUCH_HASH),
      () => this.credentials.findBySecretHash(NO_SUCH_HASH),
      () => this.credentials.touch(NO_SUCH_ID, now),
      () => this.hosts.markSeen(NO_SUCH_ID, now),
      // POST /hosts/:idOrName/backups.
      () => this.hosts.findById(NO_SUCH_ID),
      () => this.hosts.findByName(NO_SUCH_ID),
      () => this.runs.createBackupRunUnlessActive(NO_SUCH_ID),
      // GET /runs/:id, and the run as the agent's and the receiver's calls read it.
      () => this.runs.findWithFileErrors(NO_SUCH_ID, RUN_FILE_ERRORS_SHOWN),
      () => this.runs.findById(NO_SUCH_ID),
      () => this.runs.findState(NO_SUCH_ID),
      () => this.runs.findSessionState(NO_SUCH_ID),
      // The agent's start, progress and finish.
      () => this.runs.startAttempt(NO_SUCH_ID, now),
      () => this.runs.recordProgress(NO_SUCH_ID, { counters: {} }, now),
      () => this.runs.end(NO_SUCH_ID, publishedBackupEnd(now), NO_SUCH_ID),
    ];
    const failed: unknown[] = [];
    for (const step of steps) {
      try {
        await step();
      } catch (error) {
        failed.push(error);
      }
    }
    return failed;
  }
}

/** The end of a backup that published its snapshot, as an agent's finish report makes it (every counter given). */
function publishedBackupEnd(now: Date): RunEnd {
  const zero = 0n;
  return {
    status: 'succeeded',
    finishedAt: now,
    error: null,
    counters: { filesTotal: zero, filesDone: zero, bytesTotal: zero, bytesDone: zero, bytesSent: zero, bytesStored: zero, filesSkipped: zero, fileErrorCount: zero },
    checkpoint: BACKUP_DONE_CHECKPOINT,
    attempt: { outcome: 'succeeded', endReason: null, endedAt: now },
    snapshot: { id: NO_SUCH_ID, rootTree: '0'.repeat(64), files: zero, dirs: zero, bytes: zero, bytesSent: zero, bytesStored: zero, publishedAt: now },
    fileErrors: [],
    fileErrorCap: RUN_FILE_ERRORS_KEPT,
  };
}

/** Prisma's "no record found" for an update of a row that does not exist. */
function isNotFound(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'P2025';
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message.split('\n').filter(Boolean).slice(-1)[0] ?? error.name : String(error);
}
