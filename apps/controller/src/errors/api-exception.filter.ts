import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { type ApiErrorBody } from '@berth/contracts';
import { Prisma } from '../generated/prisma/client';
import { DomainError } from './domain.error';
import { ErrorCode, httpStatusOf } from './error-code';
import { isDatabaseUnavailable } from './prisma-errors';

/** The part of Express' response this filter uses (Express' types are not a dependency). */
interface JsonResponse {
  status(code: number): { json(body: unknown): void };
}

/** The one place where failures become HTTP answers; every error body is an ApiErrorBody. */
@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('ApiExceptionFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const body = toApiErrorBody(exception);
    if (body.code === ErrorCode.DatabaseUnavailable) {
      // Every request fails the same way while PostgreSQL is down: one line each, not a stack trace.
      this.logger.warn(`database unavailable: ${lastLine(exception)}`);
    } else if (body.statusCode >= 500) {
      this.logger.error(exception instanceof Error ? (exception.stack ?? exception.message) : String(exception));
    }
    host.switchToHttp().getResponse<JsonResponse>().status(body.statusCode).json(body);
  }
}

/** The answer any failure becomes (the audit trail records its status). */
export function toApiErrorBody(exception: unknown): ApiErrorBody {
  if (exception instanceof DomainError) {
    return errorBody(exception.code, exception.message, exception.details);
  }
  if (isDatabaseUnavailable(exception)) {
    return errorBody(ErrorCode.DatabaseUnavailable, "The controller's database is unavailable; try again shortly");
  }
  if (exception instanceof Prisma.PrismaClientKnownRequestError) {
    return prismaErrorBody(exception);
  }
  if (exception instanceof HttpException) {
    return httpExceptionBody(exception);
  }
  const parserError = bodyParserErrorBody(exception);
  return parserError ?? errorBody(ErrorCode.Internal, 'Internal error; see the controller log');
}

export function errorBody(code: ErrorCode, message: string, details?: readonly string[]): ApiErrorBody {
  const body: ApiErrorBody = { statusCode: httpStatusOf(code), code, message };
  if (details !== undefined) body.details = [...details];
  return body;
}

function prismaErrorBody(error: Prisma.PrismaClientKnownRequestError): ApiErrorBody {
  switch (error.code) {
    case 'P2002':
      return errorBody(ErrorCode.AlreadyExists, 'A record with these values already exists');
    case 'P2025':
      return errorBody(ErrorCode.NotFound, 'Record not found');
    default:
      return errorBody(ErrorCode.Internal, `Database error ${error.code}; see the controller log`);
  }
}

/** Nest's own exceptions: unknown routes (404) and the like. */
function httpExceptionBody(exception: HttpException): ApiErrorBody {
  const status = exception.getStatus();
  const code = status === 404 ? ErrorCode.NotFound : status === 413 ? ErrorCode.PayloadTooLarge : status < 500 ? ErrorCode.BadRequest : ErrorCode.Internal;
  return { statusCode: status, code, message: exception.message };
}

/** Errors of the JSON body parser (malformed JSON, body too large) carry `type` and `status`. */
function bodyParserErrorBody(exception: unknown): ApiErrorBody | null {
  if (typeof exception !== 'object' || exception === null || !('type' in exception)) return null;
  switch (exception.type) {
    case 'entity.parse.failed':
      return errorBody(ErrorCode.BadRequest, 'The request body is not valid JSON');
    case 'entity.too.large':
      return errorBody(ErrorCode.PayloadTooLarge, 'The request body is too large');
    default:
      return null;
  }
}

/** Prisma's messages begin with the invocation's source excerpt; the cause is on the last line. */
function lastLine(exception: unknown): string {
  const message = exception instanceof Error ? exception.message : String(exception);
  return message.trimEnd().split('\n').pop() ?? message;
}
