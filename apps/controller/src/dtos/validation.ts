import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { IsInt, Max, Min, registerDecorator, type ValidationArguments, type ValidationOptions } from 'class-validator';
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
          return message.startsWith(args.property) ? message : `${args.property} ${message}`;
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

/** A counter: a whole number from 0 up to 2^53 - 1 (what JSON numbers carry exactly). */
export function IsCount(): PropertyDecorator {
  return applyDecorators(IsInt(), Min(0), Max(Number.MAX_SAFE_INTEGER));
}
