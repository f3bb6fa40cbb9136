import { Injectable, Logger } from '@nestjs/common';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { hostQueueName } from '@berth/contracts';
import { DomainError } from '../errors/domain.error';
import { ErrorCode } from '../errors/error-code';
import { HostRepository } from '../repositories/host.repository';
import { QueueBoardRepository } from '../repositories/queue-board.repository';
import { ScheduleQueueRepository } from '../repositories/schedule-queue.repository';
import { isUuid } from '../utils/uuid.util';
import { ApiTokenService } from './api-token.service';

/** Where the board is mounted. */
export const QUEUE_BOARD_PATH = '/queues';
/** The queue list is read from Redis again at most this often (the board's UI polls every few seconds). */
const REFRESH_INTERVAL_MS = 3_000;

/** What a presented token may do on the board. */
export type BoardAccess = 'admin' | 'forbidden' | 'unauthenticated';

/** The request handler Bull Board's Express adapter builds (an Express app, typed here by what we call). */
export type BoardHandler = (request: unknown, response: unknown, next: (error?: unknown) => void) => void;

/**
 * Bull Board over the controller's queues: its schedule queue and the host queues of this deployment's hosts
 * (listed from Redis, named by host), refreshed as the board is used. Admins only: access is decided here.
 */
@Injectable()
export class QueueBoardService {
  readonly handler: BoardHandler;
  private readonly board: ReturnType<typeof createBullBoard>;
  private refreshed: { at: number; done: Promise<void> } | null = null;
  private readonly logger = new Logger('QueueBoard');

  constructor(
    private readonly queues: QueueBoardRepository,
    private readonly hosts: HostRepository,
    private readonly schedules: ScheduleQueueRepository,
    private readonly tokens: ApiTokenService,
  ) {
    const serverAdapter = new ExpressAdapter().setBasePath(QUEUE_BOARD_PATH);
    this.board = createBullBoard({
      queues: [],
      serverAdapter,
      options: { uiConfig: { boardTitle: 'Berth queues', hideDocsLink: true, miscLinks: [{ text: 'Fleet status', url: '/status' }, { text: 'Sign out', url: `${QUEUE_BOARD_PATH}/sign-out` }] } },
    });
    this.handler = serverAdapter.getRouter() as BoardHandler;
  }

  /** What an API token may do here: the same token check as the API's (unknown, revoked, expired: refused). */
  async access(token: string | null): Promise<BoardAccess> {
    if (token === null || token === '') return 'unauthenticated';
    try {
      const principal = await this.tokens.authenticate(token);
      return principal.role === 'admin' ? 'admin' : 'forbidden';
    } catch (error) {
      if (error instanceof DomainError && error.code === ErrorCode.Unauthenticated) return 'unauthenticated';
      throw error;
    }
  }

  /** Brings the board's queue list up to date unless that was done a moment ago; Redis trouble keeps the old list. */
  refresh(): Promise<void> {
    const now = Date.now();
    if (this.refreshed !== null && now - this.refreshed.at < REFRESH_INTERVAL_MS) return this.refreshed.done;
    const done = this.loadQueues().catch((error: unknown) => {
      this.logger.warn(`Cannot list queues: ${error instanceof Error ? error.message : String(error)}`);
    });
    this.refreshed = { at: now, done };
    return done;
  }

  private async loadQueues(): Promise<void> {
    const hostIds = (await this.queues.hostQueueIds()).filter(isUuid);
    // Only this deployment's hosts: a Redis shared by several deployments holds the others' queues too.
    const hosts = hostIds.length === 0 ? [] : await this.hosts.listByIds(hostIds);
    const schedule = new BullMQAdapter(this.queues.queue(this.schedules.queueName), { displayName: 'schedules', description: 'Schedule ticks of this controller' });
    const perHost = hosts.map(
      (host) => new BullMQAdapter(this.queues.queue(hostQueueName(host.id)), { displayName: `host ${host.name}`, description: `Backup and restore jobs of ${host.name} (${host.id})` }),
    );
    this.board.replaceQueues([schedule, ...perHost]);
  }
}
