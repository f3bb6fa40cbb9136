import { type CallHandler, type ExecutionContext, HttpStatus, Injectable, type NestInterceptor } from '@nestjs/common';
import { HTTP_CODE_METADATA } from '@nestjs/common/constants';
import { Reflector } from '@nestjs/core';
import { catchError, concatMap, type Observable } from 'rxjs';
import { toApiErrorBody } from '../errors/api-exception.filter';
import { AuditService } from '../services/audit.service';
import { type ApiRequest, auditEvent, SAFE_METHODS } from './api-request';

/**
 * Records every state-changing call of the operator API (who, what, when, and how it ended) before the answer
 * leaves: a call is never answered without its audit event.
 */
@Injectable()
export class AuditInterceptor implements NestInterceptor {
  constructor(
    private readonly reflector: Reflector,
    private readonly audit: AuditService,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = context.switchToHttp().getRequest<ApiRequest>();
    const principal = request.principal;
    if (principal === undefined || SAFE_METHODS.has(request.method)) return next.handle();
    const record = (statusCode: number): Promise<void> => this.audit.record(auditEvent(context, request, principal, statusCode));
    const successStatus = this.reflector.get<number | undefined>(HTTP_CODE_METADATA, context.getHandler()) ?? (request.method === 'POST' ? HttpStatus.CREATED : HttpStatus.OK);
    return next.handle().pipe(
      concatMap(async (value: unknown) => {
        await record(successStatus);
        return value;
      }),
      catchError(async (error: unknown) => {
        await record(toApiErrorBody(error).statusCode);
        throw error;
      }),
    );
  }
}
