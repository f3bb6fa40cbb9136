import { Injectable, Logger } from '@nestjs/common';
import { agentRedisUsername } from '@berth/contracts';
import { ControllerConfig } from '../config/controller-config';
import { AclRefusedError, AgentRedisAclRepository } from '../repositories/agent-redis-acl.repository';
import { CredentialRepository } from '../repositories/credential.repository';
import { RedisRepository } from '../repositories/redis.repository';

/** How an agent reaches Redis: the URL, and the user to log in as with its credential as password (null: none). */
export interface AgentRedisAccess {
  url: string;
  username: string | null;
}

/**
 * Keeps each host's Redis ACL user in step with its credentials: created at enrollment, narrowed or deleted (and
 * its connections closed) at revocation, and all of them written again whenever the controller's Redis
 * connection becomes ready, since Redis keeps ACL users only in memory (a restarted Redis has none).
 *
 * When Redis refuses ACL commands (a managed Redis that does not let clients manage users), agents fall back to
 * BERTH_AGENT_REDIS_URL as it is, shared by all of them; that is logged once as a warning.
 */
@Injectable()
export class AgentAccessService {
  private readonly logger = new Logger('AgentAccess');
  private refused: string | null = null;
  private syncing: Promise<void> | null = null;

  constructor(
    private readonly config: ControllerConfig,
    private readonly redis: RedisRepository,
    private readonly acl: AgentRedisAclRepository,
    private readonly credentials: CredentialRepository,
  ) {
    if (config.agentRedisAcl === 'auto') {
      this.redis.connection.on('ready', () => void this.syncAll());
    }
  }

  /** Per-host ACL users are in use (not turned off, not refused by Redis so far). */
  get enabled(): boolean {
    return this.config.agentRedisAcl === 'auto' && this.refused === null;
  }

  redisAccess(hostId: string): AgentRedisAccess {
    if (!this.enabled) return { url: this.config.agentRedisUrl, username: null };
    return { url: withoutUserInfo(this.config.agentRedisUrl), username: agentRedisUsername(hostId) };
  }

  /** After enrollment: the host's user accepts all its unrevoked credentials. */
  async grant(hostId: string): Promise<void> {
    await this.apply(hostId, false);
  }

  /** After revocation: the revoked credentials no longer log in, and no connection made with them stays open. */
  async withdraw(hostId: string): Promise<void> {
    await this.apply(hostId, true);
  }

  /** Writes every host's user again from the database (Redis came (back) up); one sync at a time. */
  syncAll(): Promise<void> {
    this.syncing ??= this.sync().finally(() => (this.syncing = null));
    return this.syncing;
  }

  private async sync(): Promise<void> {
    if (!this.enabled) return;
    try {
      await this.acl.probe();
      const hosts = await this.credentials.allHostHashes();
      await this.acl.setUsers(hosts.filter((host) => host.activeHashes.length > 0).map((host) => ({ hostId: host.hostId, passwordHashes: host.activeHashes })));
      for (const host of hosts.filter((candidate) => candidate.activeHashes.length === 0)) await this.acl.deleteUser(host.hostId);
      if (hosts.length > 0) this.logger.log(`Redis ACL users of ${hosts.length} host(s) written`);
    } catch (error) {
      this.failed(error, 'writing the Redis ACL users of all hosts');
    }
  }

  private async apply(hostId: string, disconnect: boolean): Promise<void> {
    if (!this.enabled) return;
    try {
      const hashes = await this.credentials.activeHashes(hostId);
      if (hashes.length === 0) {
        await this.acl.deleteUser(hostId);
        return;
      }
      await this.acl.setUser(hostId, hashes);
      if (disconnect) await this.acl.killConnections(hostId);
    } catch (error) {
      this.failed(error, `updating the Redis ACL user of host ${hostId}`);
    }
  }

  /**
   * A refusal turns per-host users off for this process (warned once). Any other failure (Redis unreachable) is
   * logged: the sync when the connection is ready again writes every user from the database.
   */
  private failed(error: unknown, doing: string): void {
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof AclRefusedError) {
      if (this.refused === null) {
        this.refused = message;
        this.logger.warn(
          `Redis refused ACL commands (${message}): agents are not limited to their own queue; they all use BERTH_AGENT_REDIS_URL as it is. ` +
            'Give the controller a Redis user allowed to run ACL SETUSER, DELUSER and CLIENT KILL, or set BERTH_AGENT_REDIS_ACL=off to silence this.',
        );
      }
      return;
    }
    this.logger.error(`${doing} failed: ${message}; retried when the Redis connection is ready again`);
  }
}

/** An agent logs in with its own user and credential: the URL it gets carries neither ours nor anyone's. */
function withoutUserInfo(url: string): string {
  const parsed = new URL(url);
  parsed.username = '';
  parsed.password = '';
  return parsed.toString();
}
