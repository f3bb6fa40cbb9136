import { Body, Controller, HttpCode, HttpStatus, Param, Post } from '@nestjs/common';
import { type RunResponse } from '@berth/contracts';
import { RestoreDto } from '../dtos/snapshot.dto';
import { SnapshotService } from '../services/snapshot.service';

@Controller('snapshots')
export class SnapshotController {
  constructor(private readonly snapshots: SnapshotService) {}

  @Post(':id/restore')
  @HttpCode(HttpStatus.ACCEPTED)
  restore(@Param('id') id: string, @Body() dto: RestoreDto): Promise<RunResponse> {
    return this.snapshots.restore(id, dto);
  }
}
