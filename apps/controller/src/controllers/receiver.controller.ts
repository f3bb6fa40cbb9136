import { Body, Controller, HttpCode, HttpStatus, Post, UseGuards } from '@nestjs/common';
import { type CheckCredentialsResponse, RECEIVER_API, type VerifySessionResponse } from '@berth/contracts';
import { CheckCredentialsDto, VerifySessionDto } from '../dtos/session.dto';
import { ReceiverTokenGuard } from '../middleware/receiver-token.guard';
import { SessionService } from '../services/session.service';
import { ServiceRoute } from '../middleware/auth.decorators';

/** The internal API the receiver calls with its shared token. */
@ServiceRoute()
@Controller()
@UseGuards(ReceiverTokenGuard)
export class ReceiverController {
  constructor(private readonly sessions: SessionService) {}

  @Post(RECEIVER_API.verifySession)
  @HttpCode(HttpStatus.OK)
  verifySession(@Body() dto: VerifySessionDto): Promise<VerifySessionResponse> {
    return this.sessions.verify(dto);
  }

  @Post(RECEIVER_API.checkCredentials)
  @HttpCode(HttpStatus.OK)
  checkCredentials(@Body() dto: CheckCredentialsDto): Promise<CheckCredentialsResponse> {
    return this.sessions.checkCredentials(dto);
  }
}
