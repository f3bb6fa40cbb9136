import { type RestoreRequest, type SnapshotResponse } from '@berth/contracts';
import { IsOptional } from 'class-validator';
import { type SnapshotRecord } from '../repositories/snapshot.repository';
import { toNumber } from '../utils/bigint.util';
import { IsAbsolutePath, IsHostIdOrName } from './validation';

export class RestoreDto implements RestoreRequest {
  /** Host (id or name) whose agent writes the files; the snapshot's own host when absent. */
  @IsOptional()
  @IsHostIdOrName()
  targetHost?: string;

  @IsAbsolutePath()
  targetDir!: string;

  /** Path inside the snapshot to restore; the whole snapshot when absent. */
  @IsOptional()
  @IsAbsolutePath()
  subPath?: string;
}

export function mapSnapshot(snapshot: SnapshotRecord): SnapshotResponse {
  return {
    id: snapshot.id,
    hostId: snapshot.hostId,
    hostName: snapshot.host.name,
    runId: snapshot.runId,
    rootTree: snapshot.rootTree,
    stats: {
      files: toNumber(snapshot.files),
      dirs: toNumber(snapshot.dirs),
      bytes: toNumber(snapshot.bytes),
      bytesSent: toNumber(snapshot.bytesSent),
      bytesStored: toNumber(snapshot.bytesStored),
    },
    publishedAt: snapshot.publishedAt.toISOString(),
  };
}
