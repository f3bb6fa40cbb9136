import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { ControllerConfig } from '../config/controller-config';
import { DomainError } from '../errors/domain.error';
import { ErrorCode } from '../errors/error-code';
import { constantTimeEquals } from '../utils/secret.util';
import { bearerToken } from './bearer-token.util';

/** Internal API: only the receiver, holding the shared token, may call it. */
@Injectable()
export class ReceiverTokenGuard implements CanActivate {
  constructor(private readonly config: ControllerConfig) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<{ headers: Record<string, string | string[] | undefined> }>();
    const token = bearerToken(request.headers.authorization);
    if (token === null || !constantTimeEquals(token, this.config.receiver.token)) {
      throw new DomainError(ErrorCode.InvalidReceiverToken, 'Missing or wrong receiver token');
    }
    return true;
  }
}
