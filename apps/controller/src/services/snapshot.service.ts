import { Injectable } from '@nestjs/common';
import { JobName, type RestoreJobData, type RunResponse, type SnapshotResponse } from '@berth/contracts';
import { mapRun } from '../dtos/run.dto';
import { mapSnapshot, type RestoreDto } from '../dtos/snapshot.dto';
import { DomainError } from '../errors/domain.error';
import { ErrorCode } from '../errors/error-code';
import { RunRepository } from '../repositories/run.repository';
import { type SnapshotRecord, SnapshotRepository } from '../repositories/snapshot.repository';
import { isUuid } from '../utils/uuid.util';
import { HostService } from './host.service';
import { RunService } from './run.service';

@Injectable()
export class SnapshotService {
  constructor(
    private readonly snapshots: SnapshotRepository,
    private readonly runs: RunRepository,
    private readonly hostService: HostService,
    private readonly runService: RunService,
  ) {}

  async listForHost(idOrName: string): Promise<SnapshotResponse[]> {
    const host = await this.hostService.findOrThrow(idOrName);
    return (await this.snapshots.listByHost(host.id)).map(mapSnapshot);
  }

  /** Queues a restore of a snapshot (or a sub-path of it) on the target host, by default the snapshot's own. */
  async restore(snapshotId: string, dto: RestoreDto): Promise<RunResponse> {
    const snapshot = await this.findOrThrow(snapshotId);
    const target = await this.hostService.findOrThrow(dto.targetHost ?? snapshot.hostId);
    const subPath = dto.subPath ?? null;
    const run = await this.runs.createRestoreRun({ hostId: target.id, snapshotId: snapshot.id, targetDir: dto.targetDir, subPath });
    const job: RestoreJobData = { kind: JobName.Restore, runId: run.id, hostId: target.id, snapshotId: snapshot.id, targetDir: dto.targetDir, subPath };
    await this.runService.enqueue(run.id, job);
    return mapRun(run);
  }

  private async findOrThrow(id: string): Promise<SnapshotRecord> {
    const snapshot = isUuid(id) ? await this.snapshots.findById(id) : null;
    if (snapshot === null) {
      throw new DomainError(ErrorCode.SnapshotNotFound, `Snapshot "${id}" not found`);
    }
    return snapshot;
  }
}
