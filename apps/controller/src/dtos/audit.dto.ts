import { API_ROLES, type ApiRole, type AuditEventResponse, type AuditPage } from '@berth/contracts';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsDate, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { type AuditEvent } from '../generated/prisma/client';
import { IsUuid } from './validation';

export const AUDIT_LIMIT_DEFAULT = 100;
export const AUDIT_LIMIT_MAX = 1_000;

export class AuditQueryDto {
  @ApiPropertyOptional({ description: 'events of this token id' })
  @IsOptional()
  @IsUuid()
  tokenId?: string;

  @ApiPropertyOptional({ description: 'events of the token with this name' })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  actor?: string;

  @ApiPropertyOptional({ description: 'action or its prefix, e.g. "host." or "host.create"' })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  action?: string;

  @ApiPropertyOptional({ description: 'events that named this resource (host, run, token id or name)' })
  @IsOptional()
  @IsString()
  @MaxLength(300)
  target?: string;

  @ApiPropertyOptional({ format: 'date-time' })
  @IsOptional()
  @Type(() => Date)
  @IsDate({ message: 'since must be an ISO 8601 date-time' })
  since?: Date;

  @ApiPropertyOptional({ format: 'date-time' })
  @IsOptional()
  @Type(() => Date)
  @IsDate({ message: 'until must be an ISO 8601 date-time' })
  until?: Date;

  @ApiPropertyOptional({ description: "the previous page's nextBefore" })
  @IsOptional()
  @Matches(/^[1-9][0-9]{0,18}$/, { message: 'before must be an event id (a positive integer)' })
  before?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: AUDIT_LIMIT_MAX, default: AUDIT_LIMIT_DEFAULT })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(AUDIT_LIMIT_MAX)
  limit?: number;
}

export class AuditEventDto implements AuditEventResponse {
  @ApiProperty() id!: string;
  @ApiProperty({ format: 'date-time' }) at!: string;
  @ApiProperty() actor!: string;
  @ApiProperty({ type: String, format: 'uuid', nullable: true }) tokenId!: string | null;
  @ApiProperty({ enum: API_ROLES, enumName: 'ApiRole', nullable: true }) role!: ApiRole | null;
  @ApiProperty() method!: string;
  @ApiProperty({ description: 'route pattern, e.g. /hosts/:id/backups' }) route!: string;
  @ApiProperty({ description: 'path as called' }) path!: string;
  @ApiProperty({ description: 'e.g. host.backup' }) action!: string;
  @ApiProperty({ type: String, nullable: true }) target!: string | null;
  @ApiProperty() statusCode!: number;
  @ApiProperty({ type: String, nullable: true }) remoteAddr!: string | null;
}

export class AuditPageDto implements AuditPage {
  @ApiProperty({ type: [AuditEventDto] }) events!: AuditEventDto[];
  @ApiProperty({ type: String, nullable: true }) nextBefore!: string | null;
}

export function mapAuditEvent(row: AuditEvent): AuditEventResponse {
  return {
    id: row.id.toString(),
    at: row.at.toISOString(),
    actor: row.actor,
    tokenId: row.tokenId,
    role: row.role,
    method: row.method,
    route: row.route,
    path: row.path,
    action: row.action,
    target: row.target,
    statusCode: row.statusCode,
    remoteAddr: row.remoteAddr,
  };
}
