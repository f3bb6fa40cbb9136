import { Controller, Get, HttpCode, HttpStatus, Param, Post, Query } from '@nestjs/common';
import { type FileErrorPage, type RunResponse } from '@berth/contracts';
import { FileErrorQueryDto, RunQueryDto } from '../dtos/run.dto';
import { CurrentPrincipal } from '../middleware/current-principal.decorator';
import { type Principal } from '../services/api-token.service';
import { RunCancelService } from '../services/run-cancel.service';
import { RunRetryService } from '../services/run-retry.service';
import { RunService } from '../services/run.service';

@Controller('runs')
export class RunController {
  constructor(
    private readonly runs: RunService,
    private readonly retries: RunRetryService,
    private readonly cancels: RunCancelService,
  ) {}

  /** Newest first; `?hostId=` or `?host=NAME`, `?status=`, `?limit=` (at most 200, default 50). */
  @Get()
  list(@Query() query: RunQueryDto): Promise<RunResponse[]> {
    return this.runs.list(query);
  }

  /** Every file error the run kept, in the order reported: `?after=` (the previous page's nextAfter), `?limit=` (1 to 5000, default 500). */
  @Get(':id/file-errors')
  fileErrors(@Param('id') id: string, @Query() query: FileErrorQueryDto): Promise<FileErrorPage> {
    return this.runs.fileErrors(id, query);
  }

  @Get(':id')
  get(@Param('id') id: string): Promise<RunResponse> {
    return this.runs.get(id);
  }

  /** Failed and canceled runs only: queued again under the same job id, resuming where the last attempt stopped. */
  @Post(':id/retry')
  @HttpCode(HttpStatus.ACCEPTED)
  retry(@Param('id') id: string): Promise<RunResponse> {
    return this.retries.retry(id);
  }

  /**
   * Queued and running runs: a run no agent holds is canceled at once; otherwise its agent stops within seconds
   * and reports it canceled (the answer then shows cancelRequestedAt). What was stored stays for a retry.
   */
  @Post(':id/cancel')
  @HttpCode(HttpStatus.ACCEPTED)
  cancel(@Param('id') id: string, @CurrentPrincipal() principal: Principal): Promise<RunResponse> {
    return this.cancels.cancel(id, principal);
  }
}
