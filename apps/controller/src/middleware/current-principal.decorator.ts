import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { type Principal } from '../services/api-token.service';
import { type ApiRequest } from './api-request';

/** The caller ApiAuthGuard authenticated (operator routes only). */
export const CurrentPrincipal = createParamDecorator((_data: unknown, context: ExecutionContext): Principal => {
  const principal = context.switchToHttp().getRequest<ApiRequest>().principal;
  if (principal === undefined) throw new Error('CurrentPrincipal used on a route ApiAuthGuard does not authenticate');
  return principal;
});
