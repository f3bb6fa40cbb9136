import { Controller, Delete, Get, HttpCode, HttpStatus, Param, Post } from '@nestjs/common';
import { type AgentCredentialResponse, type EnrollmentSecretResponse, type RevokeCredentialsResponse } from '@berth/contracts';
import { RequireRole } from '../middleware/auth.decorators';
import { CredentialService } from '../services/credential.service';

/** A host's agent credentials and its enrollment: admins only. Hosts are addressed by id or by name. */
@RequireRole('admin')
@Controller('hosts/:idOrName')
export class CredentialController {
  constructor(private readonly credentials: CredentialService) {}

  /** Every credential the host's agents enrolled with, oldest first; never the secret. */
  @Get('credentials')
  list(@Param('idOrName') idOrName: string): Promise<AgentCredentialResponse[]> {
    return this.credentials.list(idOrName);
  }

  /** Revokes all of the host's credentials. */
  @Post('credentials/revoke')
  @HttpCode(HttpStatus.OK)
  revokeAll(@Param('idOrName') idOrName: string): Promise<RevokeCredentialsResponse> {
    return this.credentials.revoke(idOrName);
  }

  /** Revokes one credential of the host. */
  @Delete('credentials/:credentialId')
  revokeOne(@Param('idOrName') idOrName: string, @Param('credentialId') credentialId: string): Promise<RevokeCredentialsResponse> {
    return this.credentials.revoke(idOrName, credentialId);
  }

  /** A new one-time enrollment secret, for an agent to enroll again (shown once). */
  @Post('enrollment')
  newEnrollmentSecret(@Param('idOrName') idOrName: string): Promise<EnrollmentSecretResponse> {
    return this.credentials.newEnrollmentSecret(idOrName);
  }
}
