import { API_ROLES, type ApiRole, type CreateTokenRequest, type TokenResponse, type WhoAmIResponse } from '@berth/contracts';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { type ApiTokenWithCreator } from '../repositories/api-token.repository';

export const TOKEN_NAME_MAX = 100;
/** Ten years: longer is "until revoked", which is what leaving it out means. */
export const TOKEN_EXPIRY_DAYS_MAX = 3_650;

export class CreateTokenDto implements CreateTokenRequest {
  @ApiProperty({ description: 'who or what uses the token, e.g. "alice" or "prometheus"', maxLength: TOKEN_NAME_MAX })
  @IsString()
  @MaxLength(TOKEN_NAME_MAX)
  @Matches(/^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/, { message: 'name must be printable ASCII without leading or trailing spaces' })
  name!: string;

  @ApiProperty({ enum: API_ROLES, enumName: 'ApiRole' })
  @IsIn(API_ROLES, { message: `role must be one of ${API_ROLES.join(', ')}` })
  role!: ApiRole;

  @ApiPropertyOptional({ minimum: 1, maximum: TOKEN_EXPIRY_DAYS_MAX })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(TOKEN_EXPIRY_DAYS_MAX)
  expiresInDays?: number;
}

export class TokenResponseDto implements TokenResponse {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ enum: API_ROLES, enumName: 'ApiRole' }) role!: ApiRole;
  @ApiProperty({ description: 'the first characters of the token' }) prefix!: string;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ type: String, nullable: true }) createdBy!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) lastUsedAt!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) expiresAt!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) revokedAt!: string | null;
}

export class CreateTokenResponseDto extends TokenResponseDto {
  @ApiProperty({ description: 'the token itself: shown in this answer only, store it now' }) token!: string;
}

export class WhoAmIResponseDto implements WhoAmIResponse {
  @ApiProperty({ format: 'uuid' }) tokenId!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ enum: API_ROLES, enumName: 'ApiRole' }) role!: ApiRole;
}

export function mapToken(row: ApiTokenWithCreator): TokenResponse {
  return {
    id: row.id,
    name: row.name,
    role: row.role,
    prefix: row.prefix,
    createdAt: row.createdAt.toISOString(),
    createdBy: row.createdByName,
    lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
    expiresAt: row.expiresAt?.toISOString() ?? null,
    revokedAt: row.revokedAt?.toISOString() ?? null,
  };
}
