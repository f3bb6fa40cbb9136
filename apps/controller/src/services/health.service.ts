import { Injectable } from '@nestjs/common';
import { type HealthResponse } from '@berth/contracts';
import { DatabaseRepository } from '../repositories/database.repository';
import { RedisRepository } from '../repositories/redis.repository';

/** A dependency that does not answer within this time counts as down. */
const CHECK_TIMEOUT_MS = 3_000;

export interface HealthReport {
  healthy: boolean;
  body: HealthResponse;
}

@Injectable()
export class HealthService {
  constructor(
    private readonly database: DatabaseRepository,
    private readonly redis: RedisRepository,
  ) {}

  async check(): Promise<HealthReport> {
    const [postgres, redis] = await Promise.all([answers(() => this.database.ping()), answers(() => this.redis.ping())]);
    const healthy = postgres && redis;
    return {
      healthy,
      body: { status: healthy ? 'ok' : 'degraded', checks: { postgres: postgres ? 'up' : 'down', redis: redis ? 'up' : 'down' } },
    };
  }
}

async function answers(probe: () => Promise<void>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), CHECK_TIMEOUT_MS);
  });
  try {
    return await Promise.race([probe().then(() => true), timeout]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}
