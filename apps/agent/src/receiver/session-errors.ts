/** Maps how a receiver session ended to the agent's error codes (which decide retry or not). */
import { ErrorCode, isWireError } from '@berth/wire';
import { AgentError, AgentErrorCode, errorMessage } from '../errors/agent-error';

export function sessionError(error: unknown, doing: string): AgentError {
  if (error instanceof AgentError) return error;
  if (!isWireError(error)) {
    // Not the session's fault (a local I/O error, a bug): retried like any surprise.
    return new AgentError(AgentErrorCode.Unexpected, `failed while ${doing}: ${errorMessage(error)}`, { cause: error });
  }
  const text = `receiver session ${error.remote ? 'ended by the receiver' : 'failed'} while ${doing}: ${error.code}: ${error.message}`;
  if (!error.remote) {
    return new AgentError(error.code === ErrorCode.Protocol || error.code === ErrorCode.FrameTooLarge ? AgentErrorCode.Protocol : AgentErrorCode.ReceiverUnavailable, text, {
      cause: error,
    });
  }
  switch (error.code) {
    case ErrorCode.Unauthorized:
    case ErrorCode.Forbidden:
      return new AgentError(AgentErrorCode.CredentialRefused, text, { cause: error });
    case ErrorCode.NotFound:
    case ErrorCode.BadPath:
      return new AgentError(AgentErrorCode.BadJob, text, { cause: error });
    default:
      return new AgentError(AgentErrorCode.ReceiverError, text, { cause: error });
  }
}

export function protocolError(message: string): AgentError {
  return new AgentError(AgentErrorCode.Protocol, `receiver broke the protocol: ${message}`);
}
