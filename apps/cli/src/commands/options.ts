import { InvalidArgumentError } from 'commander';
import path from 'node:path';
import { UsageError } from '../errors/cli-error';

/** Commander "collect" callback for repeatable options (--path A --path B). */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Paths on the client (or inside a snapshot) must be absolute: they are not relative to this shell. */
export function requireAbsolute(option: string, value: string, example: string): string {
  if (value === '' || !path.posix.isAbsolute(value)) {
    throw new UsageError(`${option} must be an absolute path (${example}); got "${value}"`);
  }
  return value;
}

export interface JsonOption {
  json?: boolean;
}

/** Commander parser of a whole number from `min` to `max`; `unit` names what it counts in the error ("days"). */
export function wholeNumber(min: number, max: number, unit?: string): (value: string) => number {
  return (value) => {
    const n = /^\d+$/.test(value) ? Number(value) : NaN;
    if (!(n >= min && n <= max)) throw new InvalidArgumentError(`must be a whole number${unit === undefined ? '' : ` of ${unit}`} from ${min} to ${max}`);
    return n;
  };
}
