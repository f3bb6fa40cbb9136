/**
 * Domain errors of the repository. Each carries a stable `code` so callers (receiver, CLI) can map them to
 * protocol errors or exit codes without matching on messages.
 */
export const RepositoryErrorCode = {
  /** Input from a caller is invalid (bad name, unsorted tree, bad id, oversized blob). */
  InvalidInput: 'REPOSITORY_INVALID_INPUT',
  /** Stored bytes do not match their id or cannot be decoded. */
  Corrupt: 'REPOSITORY_CORRUPT',
  /** Another live process holds the repository's lock. */
  Locked: 'REPOSITORY_LOCKED',
  /** An object, snapshot or journal that was asked for does not exist. */
  NotFound: 'REPOSITORY_NOT_FOUND',
  /** A snapshot with this id is already published with different content. */
  AlreadyExists: 'REPOSITORY_ALREADY_EXISTS',
  /** The directory is not a Berth repository, or its format version is unknown. */
  Format: 'REPOSITORY_FORMAT',
  /** Opened read-only, or closed. */
  NotWritable: 'REPOSITORY_NOT_WRITABLE',
  /** A write or fsync failed; the repository refuses further writes until reopened. */
  Io: 'REPOSITORY_IO',
} as const;
export type RepositoryErrorCode = (typeof RepositoryErrorCode)[keyof typeof RepositoryErrorCode];

export class RepositoryError extends Error {
  constructor(
    readonly code: RepositoryErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class RepositoryInputError extends RepositoryError {
  constructor(message: string) {
    super(RepositoryErrorCode.InvalidInput, message);
  }
}

export class RepositoryCorruptError extends RepositoryError {
  constructor(
    message: string,
    /** Hex id of the object concerned, when there is one. */
    readonly objectId: string | null = null,
  ) {
    super(RepositoryErrorCode.Corrupt, message);
  }
}

export class RepositoryLockedError extends RepositoryError {
  constructor(
    readonly lockPath: string,
    readonly ownerPid: number | null,
    detail: string,
  ) {
    super(RepositoryErrorCode.Locked, `repository is locked by ${lockPath}: ${detail}`);
  }
}

export class RepositoryNotFoundError extends RepositoryError {
  constructor(message: string) {
    super(RepositoryErrorCode.NotFound, message);
  }
}

export class RepositoryAlreadyExistsError extends RepositoryError {
  constructor(message: string) {
    super(RepositoryErrorCode.AlreadyExists, message);
  }
}

export class RepositoryFormatError extends RepositoryError {
  constructor(message: string) {
    super(RepositoryErrorCode.Format, message);
  }
}

export class RepositoryNotWritableError extends RepositoryError {
  constructor(message: string) {
    super(RepositoryErrorCode.NotWritable, message);
  }
}

export class RepositoryIoError extends RepositoryError {
  constructor(message: string, cause: unknown) {
    super(RepositoryErrorCode.Io, message, { cause });
  }
}
