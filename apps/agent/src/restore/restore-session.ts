/**
 * The agent's half of one restore session:
 *
 *   Hello(role restore) -> Wait* -> Welcome -> RestoreRequest(snapshot, subPath)
 *   <- RestoreEntry, FileData*, FileEnd ... RestoreDone(entries, bytes)
 *
 * Messages are consumed one at a time and each write is awaited before the next is read, so a slow
 * disk pushes back through the connection (FramedConnection stops reading when its queue fills).
 */
import { MessageType, PROTOCOL_VERSION, WireError, ErrorCode, type FramedConnection, type RestoreDoneMessage } from '@berth/wire';
import { AgentError, AgentErrorCode } from '../errors/agent-error';
import { protocolError, sessionError } from '../receiver/session-errors';
import { type RestoreWriter } from './restore-writer';

export interface RestoreSessionIdentity {
  readonly hostId: string;
  readonly runId: string;
  readonly credential: string;
  readonly agentVersion: string;
}

export interface RestoreSessionEvents {
  onWait(position: number): void;
  onWelcome(): void;
  onBytesReceived(bytes: number): void;
}

export async function runRestoreSession(
  connection: FramedConnection,
  identity: RestoreSessionIdentity,
  request: { snapshotId: string; subPath: Buffer },
  writer: RestoreWriter,
  events: RestoreSessionEvents,
  signal: AbortSignal,
): Promise<RestoreDoneMessage> {
  const onAbort = (): void => connection.close(new WireError(ErrorCode.ShuttingDown, 'restore interrupted: the agent is stopping'));
  if (signal.aborted) onAbort();
  signal.addEventListener('abort', onAbort, { once: true });
  let welcomed = false;
  let waitTimersApplied = false;
  try {
    await connection.send({ type: MessageType.Hello, protocol: PROTOCOL_VERSION, role: 'restore', ...identity });
    for await (const message of connection) {
      switch (message.type) {
        case MessageType.Wait:
          if (welcomed) throw protocolError('Wait after Welcome');
          // Once is enough: re-arming on every Wait would keep postponing the first heartbeat.
          if (message.timers !== null && !waitTimersApplied) {
            waitTimersApplied = true;
            connection.configureTimers(message.timers);
          }
          events.onWait(message.position);
          break;
        case MessageType.Welcome:
          if (welcomed) throw protocolError('a second Welcome');
          welcomed = true;
          connection.configureTimers({ heartbeatMs: message.heartbeatMs, idleTimeoutMs: message.idleTimeoutMs });
          connection.setMaxFrameBytes(message.maxFrameBytes);
          events.onWelcome();
          await connection.send({ type: MessageType.RestoreRequest, snapshotId: request.snapshotId, subPath: request.subPath });
          break;
        case MessageType.RestoreEntry:
          requireWelcome(welcomed, 'RestoreEntry');
          await writer.entry(message);
          break;
        case MessageType.FileData:
          requireWelcome(welcomed, 'FileData');
          await writer.data(message);
          events.onBytesReceived(message.data.length);
          break;
        case MessageType.FileEnd:
          requireWelcome(welcomed, 'FileEnd');
          await writer.end(message);
          break;
        case MessageType.RestoreDone:
          requireWelcome(welcomed, 'RestoreDone');
          await writer.finish();
          if (message.entries !== writer.entries || message.bytes !== writer.bytes) {
            throw protocolError(`RestoreDone announces ${message.entries} entries and ${message.bytes} bytes; ${writer.entries} and ${writer.bytes} arrived`);
          }
          connection.close();
          return message;
        default:
          throw protocolError(`unexpected message type ${message.type} in a restore session`);
      }
    }
    throw new AgentError(AgentErrorCode.ReceiverUnavailable, 'the receiver closed the session before the restore was done');
  } catch (error) {
    const failure = signal.aborted ? new AgentError(AgentErrorCode.Interrupted, 'restore interrupted: the agent is stopping') : sessionError(error, 'restoring');
    connection.close(failure.code === AgentErrorCode.Protocol ? WireError.protocol(failure.message) : null);
    await writer.abort();
    throw failure;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

function requireWelcome(welcomed: boolean, what: string): void {
  if (!welcomed) throw protocolError(`${what} before Welcome`);
}
