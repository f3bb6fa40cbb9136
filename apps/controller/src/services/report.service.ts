import { Injectable } from '@nestjs/common';
import { type FleetReport, type HostHistoryResponse } from '@berth/contracts';
import { ControllerConfig } from '../config/controller-config';
import { HISTORY_LIMIT_DEFAULT, type HistoryQueryDto, mapFleetReport, mapHistoryEntry } from '../dtos/report.dto';
import { ReportRepository } from '../repositories/report.repository';
import { HostService } from './host.service';

@Injectable()
export class ReportService {
  constructor(
    private readonly config: ControllerConfig,
    private readonly reports: ReportRepository,
    private readonly hosts: HostService,
  ) {}

  /** Every host against the recovery point objective, with fleet totals (one database statement). */
  async fleet(now: Date = new Date()): Promise<FleetReport> {
    return mapFleetReport(await this.reports.fleet(), this.config.rpoHours, now);
  }

  async history(idOrName: string, query: HistoryQueryDto): Promise<HostHistoryResponse> {
    const host = await this.hosts.findOrThrow(idOrName);
    const runs = await this.reports.history(host.id, query.limit ?? HISTORY_LIMIT_DEFAULT);
    return { hostId: host.id, hostName: host.name, runs: runs.map(mapHistoryEntry) };
  }
}
