import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { type AuditPage } from '@berth/contracts';
import { AuditPageDto, AuditQueryDto } from '../dtos/audit.dto';
import { RequireRole } from '../middleware/auth.decorators';
import { AuditService } from '../services/audit.service';

@ApiTags('auth')
@Controller('audit')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  /** State-changing API calls, newest first; filter by token, actor, action prefix, target, time; page with `before`. */
  @Get()
  @RequireRole('admin')
  @ApiOkResponse({ type: AuditPageDto })
  find(@Query() query: AuditQueryDto): Promise<AuditPage> {
    return this.audit.find(query);
  }
}
