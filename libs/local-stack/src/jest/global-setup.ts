// Jest global setup (jest.config.js): PostgreSQL and Redis for the whole run, plus a migrated template
// database, handed to the test workers through the environment:
//   DATABASE_URL            a database on the server (not migrated; clone the template for a schema)
//   REDIS_URL               Redis for queues (tests use unique queue names)
//   BERTH_TEST_DB_TEMPLATE  the template createTestDatabase() clones
import { ensureLocalStack, type LocalStack } from '../local-stack';
import { TEST_TEMPLATE_ENV } from '../test-database';
import { ensureTemplateDatabase } from '../template-database';

export const STACK_GLOBAL = '__BERTH_TEST_LOCAL_STACK__';

const log = (line: string): void => {
  process.stderr.write(`[berth test services] ${line}\n`);
};

export default async function globalSetup(): Promise<void> {
  const stack = await ensureLocalStack({ database: 'berth_test', log });
  try {
    const template = await ensureTemplateDatabase(stack.databaseUrl, log);
    process.env['DATABASE_URL'] = stack.databaseUrl;
    process.env['REDIS_URL'] = stack.redisUrl;
    process.env[TEST_TEMPLATE_ENV] = template;
  } catch (error) {
    await stack.stop();
    throw error;
  }
  (globalThis as Record<string, unknown>)[STACK_GLOBAL] = stack satisfies LocalStack;
}
