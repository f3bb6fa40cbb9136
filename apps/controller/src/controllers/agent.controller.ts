import { Body, Controller, Get, HttpCode, HttpStatus, Param, Post, UseGuards } from '@nestjs/common';
import { AGENT_API, type AgentConfigResponse, type EnrollResponse, type HeartbeatResponse, type RunProgressResponse, type RunResponse, type RunStartResponse } from '@berth/contracts';
import { EnrollDto, HeartbeatDto, RunFinishDto, RunProgressDto } from '../dtos/agent.dto';
import { AgentAuthGuard, AuthenticatedAgent } from '../middleware/agent-auth.guard';
import { type AgentIdentity, AgentService } from '../services/agent.service';
import { ServiceRoute } from '../middleware/auth.decorators';

/** The API agents call, at the paths of AGENT_API. Everything but enrollment needs the agent's credential. */
@ServiceRoute()
@Controller()
export class AgentController {
  constructor(private readonly agents: AgentService) {}

  @Post(AGENT_API.enroll)
  enroll(@Body() dto: EnrollDto): Promise<EnrollResponse> {
    return this.agents.enroll(dto);
  }

  @Get(AGENT_API.config)
  @UseGuards(AgentAuthGuard)
  config(@AuthenticatedAgent() agent: AgentIdentity): Promise<AgentConfigResponse> {
    return this.agents.agentConfig(agent);
  }

  @Post(AGENT_API.heartbeat)
  @UseGuards(AgentAuthGuard)
  @HttpCode(HttpStatus.OK)
  heartbeat(@AuthenticatedAgent() agent: AgentIdentity, @Body() dto: HeartbeatDto): Promise<HeartbeatResponse> {
    return this.agents.heartbeat(agent, dto);
  }

  @Post(AGENT_API.runStart(':id'))
  @UseGuards(AgentAuthGuard)
  @HttpCode(HttpStatus.OK)
  startRun(@AuthenticatedAgent() agent: AgentIdentity, @Param('id') id: string): Promise<RunStartResponse> {
    return this.agents.startRun(agent, id);
  }

  @Post(AGENT_API.runProgress(':id'))
  @UseGuards(AgentAuthGuard)
  @HttpCode(HttpStatus.OK)
  recordProgress(@AuthenticatedAgent() agent: AgentIdentity, @Param('id') id: string, @Body() dto: RunProgressDto): Promise<RunProgressResponse> {
    return this.agents.recordProgress(agent, id, dto);
  }

  @Post(AGENT_API.runFinish(':id'))
  @UseGuards(AgentAuthGuard)
  @HttpCode(HttpStatus.OK)
  finishRun(@AuthenticatedAgent() agent: AgentIdentity, @Param('id') id: string, @Body() dto: RunFinishDto): Promise<RunResponse> {
    return this.agents.finishRun(agent, id, dto);
  }
}
