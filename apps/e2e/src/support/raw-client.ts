import net from 'node:net';
import { FrameDecoder, type Message, MAX_FRAME_BYTES } from '@berth/wire';

/** What a raw client saw before the receiver closed its connection. */
export interface RawExchange {
  readonly messages: Message[];
  readonly closedByPeer: boolean;
}

/**
 * A deliberately dumb client for hostile tests: writes whatever bytes it is given, collects the frames the
 * receiver answers, and reports whether the receiver closed the connection within the time limit.
 */
export async function rawExchange(host: string, port: number, send: (socket: net.Socket, received: Message[]) => void | Promise<void>, timeoutMs = 15_000): Promise<RawExchange> {
  const socket = net.connect({ host, port });
  const decoder = new FrameDecoder({ maxFrameBytes: MAX_FRAME_BYTES });
  const messages: Message[] = [];
  const closed = new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(false);
    }, timeoutMs);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
  socket.on('data', (chunk: Buffer) => {
    try {
      messages.push(...decoder.push(chunk));
    } catch {
      socket.destroy();
    }
  });
  socket.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  await send(socket, messages);
  return { messages, closedByPeer: await closed };
}

/** Resolves once a message of the given type has arrived (or rejects after the time limit). */
export async function waitForMessage(received: Message[], predicate: (m: Message) => boolean, timeoutMs = 10_000): Promise<Message> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = received.find(predicate);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no matching message within ${timeoutMs} ms; got types ${received.map((m) => m.type).join(',')}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
