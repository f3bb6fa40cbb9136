import { Controller, Get, Param, Query } from '@nestjs/common';
import { type RunResponse } from '@berth/contracts';
import { RunQueryDto } from '../dtos/run.dto';
import { RunService } from '../services/run.service';

@Controller('runs')
export class RunController {
  constructor(private readonly runs: RunService) {}

  /** Newest first; `?hostId=` or `?host=NAME`, `?status=`, `?limit=` (at most 200, default 50). */
  @Get()
  list(@Query() query: RunQueryDto): Promise<RunResponse[]> {
    return this.runs.list(query);
  }

  @Get(':id')
  get(@Param('id') id: string): Promise<RunResponse> {
    return this.runs.get(id);
  }
}
