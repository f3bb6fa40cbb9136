import { Body, Controller, Delete, Get, Param, Post } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { type CreateTokenResponse, type TokenResponse, type WhoAmIResponse } from '@berth/contracts';
import { CreateTokenDto, CreateTokenResponseDto, TokenResponseDto, WhoAmIResponseDto } from '../dtos/token.dto';
import { RequireRole } from '../middleware/auth.decorators';
import { CurrentPrincipal } from '../middleware/current-principal.decorator';
import { ApiTokenService, type Principal } from '../services/api-token.service';

/** API tokens: admins create, list and revoke them; anyone may ask who they are. */
@ApiTags('auth')
@Controller()
export class TokenController {
  constructor(private readonly tokens: ApiTokenService) {}

  @Get('auth/whoami')
  @ApiOkResponse({ type: WhoAmIResponseDto })
  whoami(@CurrentPrincipal() principal: Principal): WhoAmIResponse {
    return this.tokens.whoAmI(principal);
  }

  /** The answer holds the token itself, once; only its SHA-256 is kept. */
  @Post('tokens')
  @RequireRole('admin')
  @ApiCreatedResponse({ type: CreateTokenResponseDto })
  create(@Body() dto: CreateTokenDto, @CurrentPrincipal() principal: Principal): Promise<CreateTokenResponse> {
    return this.tokens.create(dto, principal);
  }

  @Get('tokens')
  @RequireRole('admin')
  @ApiOkResponse({ type: [TokenResponseDto] })
  list(): Promise<TokenResponse[]> {
    return this.tokens.list();
  }

  /** Takes effect on the token's next call. Revoking a revoked token answers it unchanged. */
  @Delete('tokens/:id')
  @RequireRole('admin')
  @ApiOkResponse({ type: TokenResponseDto })
  revoke(@Param('id') id: string): Promise<TokenResponse> {
    return this.tokens.revoke(id);
  }
}
