import { type CanActivate, createParamDecorator, type ExecutionContext, Injectable } from '@nestjs/common';
import { type AgentIdentity, AgentService } from '../services/agent.service';
import { bearerToken } from './bearer-token.util';

interface AgentRequest {
  headers: Record<string, string | string[] | undefined>;
  agent?: AgentIdentity;
}

/** Agent API: the bearer token must be a valid, unrevoked agent credential; the caller's identity is attached. */
@Injectable()
export class AgentAuthGuard implements CanActivate {
  constructor(private readonly agents: AgentService) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<AgentRequest>();
    request.agent = await this.agents.authenticate(bearerToken(request.headers.authorization));
    return true;
  }
}

/** The agent AgentAuthGuard authenticated. */
export const AuthenticatedAgent = createParamDecorator((_data: unknown, context: ExecutionContext): AgentIdentity => {
  const agent = context.switchToHttp().getRequest<AgentRequest>().agent;
  if (agent === undefined) {
    throw new Error('AuthenticatedAgent used on a route without AgentAuthGuard');
  }
  return agent;
});
