import { posix } from 'node:path';

export const MAX_PATH_LENGTH = 4096;

/**
 * `/srv//data/../www/` becomes `/srv/www`. Only absolute paths are rewritten; anything else is returned as
 * given so that validation reports it as the client sent it.
 */
export function normalizeAbsolutePath(value: unknown): unknown {
  if (typeof value !== 'string' || !value.startsWith('/')) return value;
  const normalized = posix.normalize(value);
  return normalized.length > 1 && normalized.endsWith('/') ? normalized.slice(0, -1) : normalized;
}

/** Why a value is not an acceptable absolute path, or null when it is one. */
export function absolutePathProblem(value: unknown): string | null {
  if (typeof value !== 'string') return 'must be an absolute path (a string)';
  if (!value.startsWith('/')) return 'must be an absolute path (starting with /)';
  if (value.includes('\0')) return 'must not contain NUL characters';
  if (value.length > MAX_PATH_LENGTH) return `must be at most ${MAX_PATH_LENGTH} characters`;
  return null;
}

/** True when `inner` is `outer` or lies below it (both normalized absolute paths). */
export function isSameOrInside(inner: string, outer: string): boolean {
  return inner === outer || inner.startsWith(outer === '/' ? '/' : `${outer}/`);
}

/**
 * Checks a list of backup paths: its size, each path, and that no path repeats or lies inside another
 * (the agent would walk those files twice). Returns one message naming the first offending element.
 */
export function absolutePathListProblem(value: unknown, property: string, bounds: { min: number; max: number }): string | null {
  if (!Array.isArray(value)) return `${property} must be an array of absolute paths`;
  if (value.length < bounds.min || value.length > bounds.max) {
    return `${property} must contain ${bounds.min} to ${bounds.max} paths`;
  }
  for (const [index, item] of value.entries()) {
    const problem = absolutePathProblem(item);
    if (problem !== null) return `${property}.${index} ${problem}`;
  }
  const paths = value as string[];
  for (const [index, path] of paths.entries()) {
    for (let earlier = 0; earlier < index; earlier++) {
      const other = paths[earlier] as string;
      if (path === other) return `${property}.${index} repeats ${property}.${earlier} (${other})`;
      if (isSameOrInside(path, other)) return `${property}.${index} (${path}) lies inside ${property}.${earlier} (${other})`;
      if (isSameOrInside(other, path)) return `${property}.${earlier} (${other}) lies inside ${property}.${index} (${path})`;
    }
  }
  return null;
}
