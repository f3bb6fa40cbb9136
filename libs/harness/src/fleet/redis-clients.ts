import { controllerRedisClientName } from '@berth/contracts';
import { Redis } from 'ioredis';

/** One line of CLIENT LIST, the fields the harness looks at. */
export interface RedisClientInfo {
  readonly id: string;
  readonly name: string;
  /** The client's last (or current) command, lower case. */
  readonly cmd: string;
  readonly flags: string;
  /** Whether the client waits in (or last ran) a blocking command: such a connection serves nothing else. */
  readonly blocking: boolean;
}

/** Commands that hold a connection until data arrives (BullMQ workers and QueueEvents use these). */
const BLOCKING_COMMANDS = new Set(['bzpopmin', 'bzpopmax', 'bzmpop', 'blpop', 'brpop', 'blmove', 'brpoplpush', 'blmpop', 'xread', 'xreadgroup', 'wait', 'waitaof']);

export function parseClientList(text: string): RedisClientInfo[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const fields = new Map<string, string>();
      for (const pair of line.trim().split(' ')) {
        const at = pair.indexOf('=');
        if (at > 0) fields.set(pair.slice(0, at), pair.slice(at + 1));
      }
      const cmd = (fields.get('cmd') ?? '').toLowerCase();
      const flags = fields.get('flags') ?? '';
      // XREAD counts only with BLOCK; CLIENT LIST names just the command, so a plain xread counts too (none is used).
      return { id: fields.get('id') ?? '', name: fields.get('name') ?? '', cmd, flags, blocking: BLOCKING_COMMANDS.has(cmd.split('|')[0] ?? '') || flags.includes('b') };
    });
}

/**
 * The connections a controller process holds, by the client names it gives them (see controllerRedisClientName):
 * its own connections and BullMQ's blocking connections of its workers (`bull:...:w:<name>`).
 */
export async function controllerRedisClients(redisUrl: string, hostname: string, pid: number): Promise<RedisClientInfo[]> {
  const base = controllerRedisClientName(hostname, pid);
  const ours = (name: string): boolean => {
    const at = name.indexOf(base);
    if (at < 0) return false;
    const next = name.charAt(at + base.length);
    return (at === 0 || name.slice(0, at).endsWith(':w:')) && (next === '' || next === ':');
  };
  const client = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await client.connect();
    const list = (await client.call('CLIENT', 'LIST', 'TYPE', 'normal')) as string;
    return parseClientList(list).filter((info) => ours(info.name));
  } finally {
    client.disconnect();
  }
}
