import { DomainError } from '../errors/domain.error';
import { ErrorCode } from '../errors/error-code';
import { isUuid } from '../utils/uuid.util';

/** The error of every lookup of a run that is not there (an id that is not a UUID names no run either). */
export function runNotFound(id: string): DomainError {
  return new DomainError(ErrorCode.RunNotFound, `Run "${id}" not found`);
}

/** `find(id)` for an id that can name a run (a UUID), or runNotFound: whatever shape of the run the caller reads. */
export async function findRunOrThrow<T>(id: string, find: (id: string) => Promise<T | null>): Promise<T> {
  const run = isUuid(id) ? await find(id) : null;
  if (run === null) throw runNotFound(id);
  return run;
}
