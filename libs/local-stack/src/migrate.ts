import { spawn } from 'node:child_process';
import path from 'node:path';
import { describeServiceUrl } from './database-url';
import { LocalStackError } from './errors';
import { repositoryRoot } from './repository-root';

export interface MigrationResult {
  /** What `prisma migrate deploy` printed (stdout and stderr). */
  readonly output: string;
}

/**
 * Applies prisma/migrations to the database at `databaseUrl` (created if missing) with the ordinary
 * `prisma migrate deploy`, which runs offline through the schema engine set up by prisma.config.ts.
 */
export async function migrateDatabase(databaseUrl: string): Promise<MigrationResult> {
  const root = repositoryRoot();
  const cli = path.join(path.dirname(require.resolve('prisma/package.json', { paths: [root] })), 'build', 'index.js');
  const child = spawn(process.execPath, [cli, 'migrate', 'deploy'], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: databaseUrl, CHECKPOINT_DISABLE: '1', PRISMA_HIDE_UPDATE_MESSAGE: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const chunks: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => chunks.push(chunk));
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve(code));
  });
  const output = Buffer.concat(chunks).toString('utf8');
  if (exitCode !== 0) {
    throw new LocalStackError(
      'MIGRATION_FAILED',
      `prisma migrate deploy failed for ${describeServiceUrl(databaseUrl)} (exit ${exitCode ?? 'by signal'}):\n${output.trim()}`,
    );
  }
  return { output };
}
