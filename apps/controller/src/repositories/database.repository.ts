import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import { ControllerConfig } from '../config/controller-config';
import { PrismaClient } from '../generated/prisma/client';

/** Connections to PostgreSQL fail after this long instead of hanging a request (or the health check). */
const CONNECT_TIMEOUT_MS = 5_000;

/** Owns the Prisma client; only repositories use it. */
@Injectable()
export class DatabaseRepository implements OnApplicationShutdown {
  readonly client: PrismaClient;

  constructor(config: ControllerConfig) {
    this.client = new PrismaClient({
      adapter: new PrismaPg({ connectionString: config.databaseUrl, connectionTimeoutMillis: CONNECT_TIMEOUT_MS }),
    });
  }

  async ping(): Promise<void> {
    await this.client.$queryRaw`SELECT 1`;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.client.$disconnect();
  }
}
