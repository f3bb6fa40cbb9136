import { type ValidationError } from 'class-validator';
import { DomainError } from './domain.error';
import { ErrorCode } from './error-code';

/**
 * One line per failed constraint, naming the field by its full path (`counters.filesDone must not be less
 * than 0`, `paths.0 must be an absolute path`). class-validator names nested fields by their own name only,
 * so the parent path is put in front.
 */
export function formatValidationErrors(errors: readonly ValidationError[], parentPath = ''): string[] {
  const lines: string[] = [];
  for (const error of errors) {
    const path = parentPath === '' ? error.property : `${parentPath}.${error.property}`;
    for (const message of Object.values(error.constraints ?? {})) {
      lines.push(qualify(message, error.property, path));
    }
    lines.push(...formatValidationErrors(error.children ?? [], path));
  }
  return lines;
}

export function validationFailed(errors: readonly ValidationError[]): DomainError {
  const details = formatValidationErrors(errors);
  return new DomainError(ErrorCode.ValidationFailed, `Invalid request: ${details.join('; ')}`, details);
}

function qualify(message: string, property: string, path: string): string {
  if (path === property) return message;
  if (message.startsWith(`${property} `) || message.startsWith(`${property}.`)) {
    return `${path}${message.slice(property.length)}`;
  }
  // Messages that name the field later on ("property x should not exist", "each value in x ...").
  return message.replace(new RegExp(`\\b${escapeRegExp(property)}\\b`), path);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
