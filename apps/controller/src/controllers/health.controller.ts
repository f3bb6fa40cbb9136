import { Controller, Get, HttpStatus, Res } from '@nestjs/common';
import { type HealthResponse } from '@berth/contracts';
import { HealthService } from '../services/health.service';
import { Public } from '../middleware/auth.decorators';

@Public()
@Controller('healthz')
export class HealthController {
  constructor(private readonly health: HealthService) {}

  /** 200 when PostgreSQL and Redis answer, 503 with the same body when one does not. */
  @Get()
  async check(@Res({ passthrough: true }) response: { status(code: number): unknown }): Promise<HealthResponse> {
    const report = await this.health.check();
    response.status(report.healthy ? HttpStatus.OK : HttpStatus.SERVICE_UNAVAILABLE);
    return report.body;
  }
}
