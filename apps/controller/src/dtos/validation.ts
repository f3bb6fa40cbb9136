import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsInt, IsString, Length, Max, Min, registerDecorator, type ValidationArguments, type ValidationOptions } from 'class-validator';
import { absolutePathListProblem, absolutePathProblem, normalizeAbsolutePath } from '../utils/path.util';
import { isUuid } from '../utils/uuid.util';

/** Host names: what a hostname label allows plus `.` and `_`; never UUID-shaped, so `:idOrName` stays unambiguous. */
const HOST_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export function hostNameProblem(value: unknown): string | null {
  if (typeof value !== 'string' || !HOST_NAME.test(value)) {
    return "must be 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit";
  }
  if (isUuid(value)) return 'must not be a UUID (ids and names share the same URLs)';
  return null;
}

/** Registers a validator from a function that says what is wrong (or null); the message names the field. */
function fromProblem(
  name: string,
  problem: (value: unknown, args: ValidationArguments) => string | null,
  options?: ValidationOptions,
  /** Message when the whole value does not explain the failure (`each` options validate elements). */
  fallback = 'is invalid',
): PropertyDecorator {
  return (target: object, propertyName: string | symbol) => {
    registerDecorator({
      name,
      target: target.constructor,
      propertyName: String(propertyName),
      ...(options === undefined ? {} : { options }),
      validator: {
        validate: (value: unknown, args: ValidationArguments) => problem(value, args) === null,
        defaultMessage: (args: ValidationArguments) => {
          const message = problem(args.value, args) ?? fallback;
          const namesField = message.startsWith(`${args.property} `) || message.startsWith(`${args.property}.`) || message.startsWith(`property ${args.property}.`);
          return namesField ? message : `${args.property} ${message}`;
        },
      },
    });
  };
}

export function IsHostName(options?: ValidationOptions): PropertyDecorator {
  return fromProblem('isHostName', hostNameProblem, options);
}

export function IsUuid(options?: ValidationOptions): PropertyDecorator {
  return fromProblem('isUuid', (value) => (isUuid(value) ? null : 'must be a UUID'), options);
}

/** A host given by id or by name (the CLI addresses hosts by name). */
export function IsHostIdOrName(options?: ValidationOptions): PropertyDecorator {
  return fromProblem('isHostIdOrName', (value) => (isUuid(value) || hostNameProblem(value) === null ? null : 'must be a host id or a host name'), options);
}

/** An absolute path, normalized before it is checked (`/a//b/../c/` becomes `/a/c`). */
export function IsAbsolutePath(options?: ValidationOptions): PropertyDecorator {
  return applyDecorators(
    Transform(({ value }: { value: unknown }) => normalizeAbsolutePath(value)),
    fromProblem('isAbsolutePath', (value) => absolutePathProblem(value), options),
  );
}

/** A list of normalized absolute paths, none repeated and none inside another; errors name the element. */
export function IsAbsolutePathList(bounds: { min: number; max: number }, options?: ValidationOptions): PropertyDecorator {
  return applyDecorators(
    Transform(({ value }: { value: unknown }) => (Array.isArray(value) ? value.map(normalizeAbsolutePath) : value)),
    fromProblem('isAbsolutePathList', (value, args) => absolutePathListProblem(value, args.property, bounds), options),
  );
}

export function HasNoNul(options?: ValidationOptions): PropertyDecorator {
  const problem = (value: unknown): string | null => (typeof value === 'string' && value.includes('\0') ? 'must not contain NUL characters' : null);
  const fallback = options?.each === true ? 'must not contain NUL characters in any element' : 'must not contain NUL characters';
  return fromProblem('hasNoNul', problem, options, fallback);
}

/** Most exclude patterns a host or a group may have, and the longest pattern. */
export const EXCLUDES_MAX = 256;
export const EXCLUDE_PATTERN_MAX = 1024;

/** A list of exclude globs: at most EXCLUDES_MAX non-empty strings of at most EXCLUDE_PATTERN_MAX characters, no NUL. */
export function IsExcludeList(): PropertyDecorator {
  return applyDecorators(
    IsArray(),
    ArrayMaxSize(EXCLUDES_MAX),
    IsString({ each: true }),
    Length(1, EXCLUDE_PATTERN_MAX, { each: true }),
    HasNoNul({ each: true }),
  );
}

/** Longest free text (error messages, file names in reports) the agent API accepts. */
export const TEXT_MAX = 65_536;

/**
 * Why a list of `{ path, message }` file errors is not acceptable (naming the element), or null. Checked in
 * one pass rather than as nested DTOs: a finish report may carry 10,000 of them, and a class instance plus
 * decorator validation per element cost about a second.
 */
export function fileErrorListProblem(value: unknown, property: string, max: number): string | null {
  if (!Array.isArray(value)) return `${property} must be an array of { path, message }`;
  if (value.length > max) return `${property} must contain at most ${max} file errors`;
  for (const [index, item] of (value as unknown[]).entries()) {
    const at = `${property}.${index}`;
    if (typeof item !== 'object' || item === null || Array.isArray(item)) return `${at} must be an object with path and message`;
    const extra = Object.keys(item).find((key) => key !== 'path' && key !== 'message');
    if (extra !== undefined) return `property ${at}.${extra} should not exist`;
    const { path, message } = item as { path?: unknown; message?: unknown };
    if (typeof path !== 'string' || path.length === 0 || path.length > TEXT_MAX) return `${at}.path must be a string of 1 to ${TEXT_MAX} characters`;
    if (typeof message !== 'string' || message.length > TEXT_MAX) return `${at}.message must be a string of at most ${TEXT_MAX} characters`;
  }
  return null;
}

export function IsFileErrorList(max: number, options?: ValidationOptions): PropertyDecorator {
  return fromProblem('isFileErrorList', (value, args) => fileErrorListProblem(value, args.property, max), options);
}

/** A counter: a whole number from 0 up to 2^53 - 1 (what JSON numbers carry exactly). */
export function IsCount(): PropertyDecorator {
  return applyDecorators(IsInt(), Min(0), Max(Number.MAX_SAFE_INTEGER));
}

/** Longest webhook URL accepted. */
export const WEBHOOK_URL_MAX = 2048;

export function webhookUrlProblem(value: unknown): string | null {
  const problem = `must be an http:// or https:// URL of at most ${WEBHOOK_URL_MAX} characters`;
  if (typeof value !== 'string' || value.length > WEBHOOK_URL_MAX) return problem;
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '' ? null : problem;
  } catch {
    return problem;
  }
}

export function IsWebhookUrl(options?: ValidationOptions): PropertyDecorator {
  return fromProblem('isWebhookUrl', webhookUrlProblem, options);
}

/** Webhook signing secrets: 16 to 256 printable ASCII characters, no spaces (they travel in configuration files). */
export function IsWebhookSecret(options?: ValidationOptions): PropertyDecorator {
  return fromProblem('isWebhookSecret', (value) => (typeof value === 'string' && /^[\x21-\x7e]{16,256}$/.test(value) ? null : 'must be 16 to 256 printable ASCII characters without spaces'), options);
}
