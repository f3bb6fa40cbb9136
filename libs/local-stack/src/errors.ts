/** What went wrong while providing PostgreSQL or Redis; the message says what to do about it. */
export type LocalStackErrorCode =
  | 'POSTGRES_BINARIES_MISSING'
  | 'POSTGRES_USER_MISSING'
  | 'POSTGRES_START_FAILED'
  | 'POSTGRES_DATA_DIR_BROKEN'
  | 'REDIS_NOT_INSTALLED'
  | 'REDIS_START_FAILED'
  | 'MIGRATION_FAILED'
  | 'TEST_DATABASE_UNAVAILABLE';

export class LocalStackError extends Error {
  override readonly name = 'LocalStackError';

  constructor(
    readonly code: LocalStackErrorCode,
    message: string,
  ) {
    super(message);
  }
}
