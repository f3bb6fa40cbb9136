import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { type ApiErrorBody } from '@berth/contracts';
import { Prisma } from '../generated/prisma/client';
import { DomainError } from './domain.error';
import { ErrorCode, httpStatusOf } from './error-code';
import { databaseFailure } from './prisma-errors';

/** The parts of Express' request and response this filter uses (Express' types are not a dependency). */
interface JsonResponse {
  status(code: number): { json(body: unknown): void };
}
interface RequestLine {
  readonly method?: string;
  readonly originalUrl?: string;
  readonly url?: string;
}

/** The one place where failures become HTTP answers; every error body is an ApiErrorBody. */
@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('ApiExceptionFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<RequestLine>();
    const body = answerFailure(this.logger, `${request.method ?? '?'} ${request.originalUrl ?? request.url ?? '?'}`, exception);
    http.getResponse<JsonResponse>().status(body.statusCode).json(body);
  }
}

/**
 * The answer to a failed request (`where`: its method and path), logged: a database failure in one line (every request
 * fails the same way while PostgreSQL is away, so no stack trace each; an error when it refuses the controller, whose
 * configuration must change), any other 5xx with its stack.
 */
export function answerFailure(logger: Logger, where: string, exception: unknown): ApiErrorBody {
  const body = toApiErrorBody(exception);
  const database = body.code === ErrorCode.DatabaseUnavailable ? databaseFailure(exception) : null;
  if (database === 'unavailable') logger.warn(`${where}: database unavailable: ${lastLine(exception)}`);
  else if (database === 'refused') logger.error(`${where}: the database refuses the controller (check DATABASE_URL and the server): ${lastLine(exception)}`);
  else if (body.statusCode >= 500) logger.error(`${where}: ${exception instanceof Error ? (exception.stack ?? exception.message) : String(exception)}`);
  return body;
}

/** The answer any failure becomes (the audit trail records its status). */
export function toApiErrorBody(exception: unknown): ApiErrorBody {
  if (exception instanceof DomainError) {
    return errorBody(exception.code, exception.message, exception.details);
  }
  switch (databaseFailure(exception)) {
    case 'unavailable':
      return errorBody(ErrorCode.DatabaseUnavailable, "The controller's database is unavailable; try again shortly");
    case 'refused':
      return errorBody(ErrorCode.DatabaseUnavailable, "The controller's database refuses its connections; see the controller log");
    case null:
      break;
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
