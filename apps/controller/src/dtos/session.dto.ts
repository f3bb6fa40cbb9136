import { type CheckCredentialsRequest, type VerifySessionRequest } from '@berth/contracts';
import { ArrayMaxSize, IsArray, IsString, Length } from 'class-validator';
import { IsUuid } from './validation';

export class VerifySessionDto implements VerifySessionRequest {
  @IsUuid()
  hostId!: string;

  @IsUuid()
  runId!: string;

  /** The agent credential the agent presented to the receiver. */
  @IsString()
  @Length(1, 512)
  credential!: string;
}

/** At most this many credential ids per check (a receiver's open sessions, far above MAX_CONNECTIONS there). */
export const CHECK_CREDENTIALS_MAX = 4096;

export class CheckCredentialsDto implements CheckCredentialsRequest {
  @IsArray()
  @ArrayMaxSize(CHECK_CREDENTIALS_MAX)
  @IsUuid({ each: true })
  credentialIds!: string[];
}
