/**
 * Opens a session transport to the receiver: TCP, or TLS verified against the CA the controller handed
 * out (system CAs when none), wrapped in the wire library's FramedConnection.
 */
import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { type AgentConfigResponse } from '@berth/contracts';
import { DEFAULT_MAX_FRAME_BYTES, FramedConnection } from '@berth/wire';
import { AgentError, AgentErrorCode, errorMessage } from '../errors/agent-error';

export type ReceiverAddress = AgentConfigResponse['receiver'];

export interface ReceiverConnector {
  connect(signal: AbortSignal): Promise<FramedConnection>;
}

/** Until Welcome says otherwise: heartbeats every 5 s, a silent receiver is given up after 60 s. */
export const INITIAL_TIMERS = { heartbeatMs: 5_000, idleTimeoutMs: 60_000 } as const;
const CONNECT_TIMEOUT_MS = 15_000;

export class SocketReceiverConnector implements ReceiverConnector {
  constructor(private readonly address: ReceiverAddress) {}

  async connect(signal: AbortSignal): Promise<FramedConnection> {
    const socket = await this.openSocket(signal);
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 30_000);
    return new FramedConnection(socket, { maxFrameBytes: DEFAULT_MAX_FRAME_BYTES, ...INITIAL_TIMERS });
  }

  private openSocket(signal: AbortSignal): Promise<Socket> {
    const { host, port, tls, caPem, serverName } = this.address;
    const where = `${tls ? 'tls' : 'tcp'}://${host}:${port}`;
    return new Promise<Socket>((resolve, reject) => {
      if (signal.aborted) {
        reject(new AgentError(AgentErrorCode.Interrupted, 'interrupted before connecting to the receiver'));
        return;
      }
      const readyEvent = tls ? 'secureConnect' : 'connect';
      const socket: Socket = tls
        ? connectTls({ host, port, servername: serverName ?? host, ...(caPem === null ? {} : { ca: caPem }) })
        : connectTcp({ host, port });
      const settle = (error: Error | null): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        socket.off('error', onError);
        socket.off(readyEvent, onReady);
        if (error === null) {
          resolve(socket);
        } else {
          socket.destroy();
          reject(error);
        }
      };
      const onReady = (): void => settle(null);
      const onError = (error: Error): void =>
        settle(new AgentError(AgentErrorCode.ReceiverUnavailable, `cannot connect to the receiver at ${where}: ${errorMessage(error)}`, { cause: error }));
      const onAbort = (): void => settle(new AgentError(AgentErrorCode.Interrupted, 'interrupted while connecting to the receiver'));
      const timer = setTimeout(
        () => settle(new AgentError(AgentErrorCode.ReceiverUnavailable, `cannot connect to the receiver at ${where}: no answer within ${CONNECT_TIMEOUT_MS} ms`)),
        CONNECT_TIMEOUT_MS,
      );
      socket.once('error', onError);
      socket.once(readyEvent, onReady);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}
