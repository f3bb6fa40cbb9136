import { FrameDecoder, MessageType, type Message } from '@berth/wire';
import { once } from 'node:events';
import net from 'node:net';

/** A raw TCP client for hostile tests: writes whatever bytes, records every frame and the end of the stream. */
export class RawClient {
  readonly frames: Message[] = [];
  readonly closed: Promise<void>;
  private readonly decoder = new FrameDecoder({ maxFrameBytes: 16 * 1024 * 1024 });

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => this.frames.push(...this.decoder.push(chunk)));
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  static async connect(port: number): Promise<RawClient> {
    const socket = net.connect(port, '127.0.0.1');
    await once(socket, 'connect');
    return new RawClient(socket);
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Frames other than heartbeats. */
  get messages(): Message[] {
    return this.frames.filter((f) => f.type !== MessageType.Heartbeat);
  }
}
