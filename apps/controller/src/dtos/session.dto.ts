import { type VerifySessionRequest } from '@berth/contracts';
import { IsString, Length } from 'class-validator';
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
