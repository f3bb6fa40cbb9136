import { Injectable } from '@nestjs/common';
import { agentRedisUsername, hostQueueName, QUEUE_PREFIX } from '@berth/contracts';
import { RedisRepository } from './redis.repository';

/**
 * The commands an agent's BullMQ worker needs, and nothing else. Found by running a real Worker (BullMQ 5.81:
 * process, fail with retry, fail unrecoverably, move to delayed, progress, lock extension, stalled check) as a
 * user allowed only these, with ACL LOG showing every refusal: the worker itself runs its Lua scripts (EVALSHA,
 * EVAL when a script is not loaded yet), waits on the queue's marker (BZPOPMIN), names its connection (CLIENT
 * SETNAME) and reads INFO (ioredis' ready check, BullMQ's version check). Redis checks the commands the scripts
 * call against the user too, so those are listed as well (every rcall in BullMQ's scripts); all of them can touch
 * only the keys the user's key pattern allows.
 */
export const AGENT_REDIS_COMMANDS: readonly string[] = [
  'evalsha', 'eval', 'bzpopmin', 'info', 'client|setname',
  // Called from BullMQ's Lua scripts.
  'del', 'exists', 'get', 'set', 'type', 'rename', 'pexpire', 'pttl', 'incr',
  'hdel', 'hexists', 'hget', 'hgetall', 'hincrby', 'hlen', 'hmget', 'hmset', 'hset',
  'lindex', 'llen', 'lpop', 'lpos', 'lpush', 'lrange', 'lrem', 'lset', 'ltrim', 'rpop', 'rpoplpush', 'rpush',
  'sadd', 'scard', 'sismember', 'smembers', 'srem',
  'xadd', 'xtrim',
  'zadd', 'zcard', 'zcount', 'zpopmin', 'zrange', 'zrangebyscore', 'zrem', 'zremrangebyrank', 'zremrangebyscore', 'zrevrange', 'zrevrangebyscore', 'zscore',
];

const PROBE_USER = 'berth-agent-probe';

/** The keys of one host's queue: BullMQ names every key of a queue `<prefix>:<queue name>:<suffix>`. */
export function agentKeyPattern(hostId: string): string {
  return `${QUEUE_PREFIX}:${hostQueueName(hostId)}:*`;
}

/** Redis refused an ACL command: the controller's Redis user may not manage users (typical of managed Redis). */
export class AclRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AclRefusedError';
  }
}

/**
 * Redis ACL users of agents, one per host (`berth-agent-<hostId>`): its passwords are the host's unrevoked agent
 * credentials, given to Redis as their SHA-256 (`#<hex>`, the hash the controller stores), its keys those of its
 * own host queue, its commands AGENT_REDIS_COMMANDS, no pub/sub channels.
 */
@Injectable()
export class AgentRedisAclRepository {
  constructor(private readonly redis: RedisRepository) {}

  /** Creates or replaces the host's user with exactly these passwords. Open connections stay (see killConnections). */
  async setUser(hostId: string, passwordHashes: readonly string[]): Promise<void> {
    await this.acl('SETUSER', ...userRules(hostId, passwordHashes));
  }

  /** Several users in one round trip (the sync after Redis comes back). */
  async setUsers(users: readonly { hostId: string; passwordHashes: readonly string[] }[]): Promise<void> {
    if (users.length === 0) return;
    const pipeline = this.redis.connection.pipeline();
    for (const user of users) pipeline.call('ACL', 'SETUSER', ...userRules(user.hostId, user.passwordHashes));
    const results = (await pipeline.exec()) ?? [];
    const failed = results.find(([error]) => error !== null)?.[0];
    if (failed) throw classify(failed);
  }

  /**
   * Throws AclRefusedError unless the controller may manage users: creates a disabled user without rights and
   * deletes it again (harmless when replicas do it at the same time).
   */
  async probe(): Promise<void> {
    await this.acl('SETUSER', PROBE_USER, 'reset', 'off');
    await this.acl('DELUSER', PROBE_USER);
  }

  /** Deletes the host's user; Redis closes the connections logged in as it. */
  async deleteUser(hostId: string): Promise<void> {
    await this.acl('DELUSER', agentRedisUsername(hostId));
  }

  /** Closes every connection logged in as the host's user (a removed password does not close them by itself). */
  async killConnections(hostId: string): Promise<void> {
    try {
      await this.redis.connection.call('CLIENT', 'KILL', 'USER', agentRedisUsername(hostId));
    } catch (error) {
      // No such user: nobody to disconnect.
      if (!(error instanceof Error && /no such user/i.test(error.message))) throw classify(error);
    }
  }

  /** The ACL rules of the host's user as Redis reports them (tests compare them with what was set). */
  async describeUser(hostId: string): Promise<unknown> {
    return this.redis.connection.call('ACL', 'GETUSER', agentRedisUsername(hostId));
  }

  private async acl(...args: string[]): Promise<void> {
    try {
      await this.redis.connection.call('ACL', ...args);
    } catch (error) {
      throw classify(error);
    }
  }
}

function userRules(hostId: string, passwordHashes: readonly string[]): string[] {
  return [
    agentRedisUsername(hostId),
    'reset',
    passwordHashes.length === 0 ? 'off' : 'on',
    ...passwordHashes.map((hash) => `#${hash}`),
    `~${agentKeyPattern(hostId)}`,
    'resetchannels',
    '-@all',
    ...AGENT_REDIS_COMMANDS.map((command) => `+${command}`),
  ];
}

/** NOPERM, or ACL renamed away / unknown: the controller may not manage users. Anything else is Redis trouble. */
function classify(error: unknown): Error {
  const message = error instanceof Error ? error.message : String(error);
  if (/^NOPERM|unknown command|unknown subcommand/i.test(message)) return new AclRefusedError(message);
  return error instanceof Error ? error : new Error(message);
}
