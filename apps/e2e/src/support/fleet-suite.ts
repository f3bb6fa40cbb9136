import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Fleet, startFleet } from '@berth/harness';
import { createTestDatabase, type TestDatabase } from '@berth/local-stack';

/** A fleet of real processes on a database cloned from the run's migrated template, torn down by stop(). */
export interface FleetSuite {
  readonly work: string;
  readonly fleet: Fleet;
  stop(): Promise<void>;
}

export interface FleetSuiteOptions {
  readonly receiverEnv?: Record<string, string>;
  readonly controllerEnv?: Record<string, string>;
  readonly agentEnv?: Record<string, string>;
  /** A Redis of the suite's own (e.g. one it restarts); default the run's shared REDIS_URL. */
  readonly redisUrl?: string;
  /** A database of the suite's own (e.g. on a PostgreSQL it restarts), migrated by the fleet; default a clone of the run's template. */
  readonly databaseUrl?: string;
}

export async function startFleetSuite(name: string, options: FleetSuiteOptions = {}): Promise<FleetSuite> {
  const work = await fs.mkdtemp(path.join(os.tmpdir(), `berth-e2e-${name}-`));
  const database: TestDatabase | null = options.databaseUrl === undefined ? await createTestDatabase() : null;
  const fleet = await startFleet({
    workDir: path.join(work, 'fleet'),
    stack: { databaseUrl: options.databaseUrl ?? process.env['DATABASE_URL'] ?? '', redisUrl: options.redisUrl ?? process.env['REDIS_URL'] ?? '' },
    ...(database !== null ? { migratedDatabaseUrl: database.url } : { uniqueDatabase: false }),
    ...(options.receiverEnv ? { receiverEnv: options.receiverEnv } : {}),
    ...(options.controllerEnv ? { controllerEnv: options.controllerEnv } : {}),
    ...(options.agentEnv ? { agentEnv: options.agentEnv } : {}),
  });
  return {
    work,
    fleet,
    async stop() {
      await fleet.stop();
      await database?.drop();
      await fs.rm(work, { recursive: true, force: true });
    },
  };
}
