import { type Message, ErrorCode, WireError } from '@berth/wire';

/** Who a session belongs to, as verified by the controller. */
export interface SessionContext {
  readonly sessionId: string;
  readonly hostId: string;
  readonly hostName: string;
  readonly runId: string;
  readonly attempt: number;
  readonly startedAt: Date;
  /** Protocol version the agent spoke in Hello: delta and dedup need 2. */
  readonly protocol: number;
}

/** The next message, or ConnectionLost when the stream ended without one. */
export async function nextMessage(inbox: AsyncIterator<Message>): Promise<Message> {
  const result = await inbox.next();
  if (result.done === true) throw new WireError(ErrorCode.ConnectionLost, 'connection closed', true);
  return result.value;
}

/** Raw path bytes shown readably in errors and logs. */
export function showPath(path: Buffer): string {
  return JSON.stringify(path.subarray(0, 200).toString('utf8'));
}
