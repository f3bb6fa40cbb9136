import { Body, Controller, Get, HttpCode, HttpStatus, Param, Patch, Post, Query } from '@nestjs/common';
import { type CreateHostResponse, type HostResponse, type RunResponse, type SnapshotResponse } from '@berth/contracts';
import { BackupQueryDto, CreateHostDto, UpdateHostDto } from '../dtos/host.dto';
import { HostService } from '../services/host.service';
import { RunService } from '../services/run.service';
import { SnapshotService } from '../services/snapshot.service';

/** Hosts are addressed by id or by name (`:idOrName`). */
@Controller('hosts')
export class HostController {
  constructor(
    private readonly hosts: HostService,
    private readonly runs: RunService,
    private readonly snapshots: SnapshotService,
  ) {}

  @Post()
  create(@Body() dto: CreateHostDto): Promise<CreateHostResponse> {
    return this.hosts.create(dto);
  }

  @Get()
  list(): Promise<HostResponse[]> {
    return this.hosts.list();
  }

  @Get(':idOrName')
  get(@Param('idOrName') idOrName: string): Promise<HostResponse> {
    return this.hosts.get(idOrName);
  }

  @Patch(':idOrName')
  update(@Param('idOrName') idOrName: string, @Body() dto: UpdateHostDto): Promise<HostResponse> {
    return this.hosts.update(idOrName, dto);
  }

  @Post(':idOrName/pause')
  @HttpCode(HttpStatus.OK)
  pause(@Param('idOrName') idOrName: string): Promise<HostResponse> {
    return this.hosts.setPaused(idOrName, true);
  }

  @Post(':idOrName/unpause')
  @HttpCode(HttpStatus.OK)
  unpause(@Param('idOrName') idOrName: string): Promise<HostResponse> {
    return this.hosts.setPaused(idOrName, false);
  }

  /** `?force=true` backs up a paused host anyway. */
  @Post(':idOrName/backups')
  @HttpCode(HttpStatus.ACCEPTED)
  triggerBackup(@Param('idOrName') idOrName: string, @Query() query: BackupQueryDto): Promise<RunResponse> {
    return this.runs.triggerBackup(idOrName, { force: query.force === 'true' });
  }

  @Get(':idOrName/snapshots')
  listSnapshots(@Param('idOrName') idOrName: string): Promise<SnapshotResponse[]> {
    return this.snapshots.listForHost(idOrName);
  }
}
