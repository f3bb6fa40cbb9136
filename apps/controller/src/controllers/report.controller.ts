import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { type FleetReport, type HostHistoryResponse } from '@berth/contracts';
import { FleetReportDto, HistoryQueryDto, HostHistoryResponseDto } from '../dtos/report.dto';
import { ReportService } from '../services/report.service';

@ApiTags('reports')
@Controller()
export class ReportController {
  constructor(private readonly reports: ReportService) {}

  /** Per host: newest snapshot and its age, objective breach, last run, last successful run; fleet totals. */
  @Get('reports/fleet')
  @ApiOkResponse({ type: FleetReportDto })
  fleet(): Promise<FleetReport> {
    return this.reports.fleet();
  }

  /** A host's backup runs, newest first: duration, files, bytes, bytes sent and stored. */
  @Get('hosts/:idOrName/history')
  @ApiOkResponse({ type: HostHistoryResponseDto })
  history(@Param('idOrName') idOrName: string, @Query() query: HistoryQueryDto): Promise<HostHistoryResponse> {
    return this.reports.history(idOrName, query);
  }
}
