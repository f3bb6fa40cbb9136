import { once } from 'node:events';
import net from 'node:net';

/**
 * A TCP proxy in front of the receiver that can play a network cut: `stall()` stops forwarding both ways
 * while keeping every connection open (packets vanish, nobody is told), `drop()` then destroys them (the
 * cut ends in resets), `heal()` forwards again for new connections.
 */
export class StallingProxy {
  private readonly server: net.Server;
  private readonly pairs = new Set<{ client: net.Socket; upstream: net.Socket }>();
  private stalled = false;
  /** Connections accepted since start, whatever became of them. */
  accepted = 0;
  /** Bytes forwarded agent -> receiver. */
  bytesUp = 0;

  constructor(private readonly target: () => { host: string; port: number }) {
    this.server = net.createServer((client) => this.accept(client));
  }

  async listen(port: number, host = '127.0.0.1'): Promise<void> {
    this.server.listen(port, host);
    await once(this.server, 'listening');
  }

  get connections(): number {
    return this.pairs.size;
  }

  stall(): void {
    this.stalled = true;
    for (const { client, upstream } of this.pairs) {
      client.pause();
      upstream.pause();
    }
  }

  /** Destroys every connection; new ones are still stalled until heal(). */
  drop(): void {
    for (const pair of this.pairs) {
      pair.client.destroy();
      pair.upstream.destroy();
    }
    this.pairs.clear();
  }

  heal(): void {
    this.stalled = false;
    for (const { client, upstream } of this.pairs) {
      client.resume();
      upstream.resume();
    }
  }

  close(): Promise<void> {
    this.drop();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    this.accepted += 1;
    const { host, port } = this.target();
    const upstream = net.connect({ host, port });
    const pair = { client, upstream };
    this.pairs.add(pair);
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      this.pairs.delete(pair);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    // Forward by hand (not pipe) so a stall holds data in the proxy instead of letting it through.
    client.on('data', (data: Buffer) => {
      this.bytesUp += data.length;
      if (!upstream.write(data)) client.pause();
    });
    upstream.on('data', (data: Buffer) => {
      if (!client.write(data)) upstream.pause();
    });
    upstream.on('drain', () => {
      if (!this.stalled) client.resume();
    });
    client.on('drain', () => {
      if (!this.stalled) upstream.resume();
    });
    if (this.stalled) {
      client.pause();
      upstream.pause();
    }
  }
}
