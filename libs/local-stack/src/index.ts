export { ensureLocalStack, type LocalStack, type LocalStackOptions } from './local-stack';
export { migrateDatabase, type MigrationResult } from './migrate';
export { createTestDatabase, TEST_TEMPLATE_ENV, type TestDatabase } from './test-database';
export { LocalStackError, type LocalStackErrorCode } from './errors';
export { type LocalStackLog } from './log';
export { repositoryRoot } from './repository-root';
export { canConnect, freePort, type FreePortOptions } from './free-port';
export { startPrivatePostgres, type PrivatePostgres, type PrivatePostgresOptions } from './postgres/private-postgres';
