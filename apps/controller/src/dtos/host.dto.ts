import { type CreateHostRequest, type CreateHostResponse, type HostResponse } from '@berth/contracts';
import { ArrayMaxSize, IsArray, IsOptional, IsString, Length } from 'class-validator';
import { type Host } from '../generated/prisma/client';
import { HasNoNul, IsAbsolutePathList, IsHostName } from './validation';

export const HOST_PATHS_MAX = 64;
export const HOST_EXCLUDES_MAX = 256;

export class CreateHostDto implements CreateHostRequest {
  @IsHostName()
  name!: string;

  @IsAbsolutePathList({ min: 1, max: HOST_PATHS_MAX })
  paths!: string[];

  @IsOptional()
  @IsArray()
  @ArrayMaxSize(HOST_EXCLUDES_MAX)
  @IsString({ each: true })
  @Length(1, 1024, { each: true })
  @HasNoNul({ each: true })
  excludes?: string[];
}

export function mapHost(host: Host): HostResponse {
  return {
    id: host.id,
    name: host.name,
    paths: host.paths,
    excludes: host.excludes,
    status: host.status,
    // The enrollment secret is cleared when an agent uses it.
    enrolled: host.enrollmentSecretHash === null,
    lastSeenAt: host.lastSeenAt?.toISOString() ?? null,
    createdAt: host.createdAt.toISOString(),
  };
}

export function mapCreatedHost(host: Host, enrollmentSecret: string): CreateHostResponse {
  return { host: mapHost(host), enrollmentSecret };
}
