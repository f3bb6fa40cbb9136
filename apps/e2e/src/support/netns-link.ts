import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Port the forwarder inside the namespace listens on: the namespace is new, so it is free there. */
const NS_PORT = 7443;

/**
 * Runs inside the namespace: accepts agents on NS address:NS_PORT and forwards each connection over the veth to
 * the root-side forwarder. It exits when its stdin closes (the test process went away), so it cannot outlive us.
 */
const NS_FORWARDER = `
const net = require('node:net');
const [listenHost, listenPort, toHost, toPort] = process.argv.slice(1);
const server = net.createServer((client) => {
  const upstream = net.connect(Number(toPort), toHost);
  client.pipe(upstream);
  upstream.pipe(client);
  const end = () => { client.destroy(); upstream.destroy(); };
  client.on('error', end); upstream.on('error', end); client.on('close', end); upstream.on('close', end);
});
server.listen(Number(listenPort), listenHost, () => process.stdout.write('ready\\n'));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
`;

/**
 * A real network path between agents and the receiver that a test can cut: a network namespace of its own joined to
 * the root namespace by a veth pair on a private /30 of its own. Agents connect to the namespace side; a forwarder
 * there sends each connection back over the veth to a forwarder on the root side, which reaches the receiver on
 * loopback. `cut()` sets the veth link down (packets vanish in the kernel, nobody is told), `restore()` sets it up.
 * Only the namespace, the veth pair and its two addresses are touched; `close()` removes them all. Needs root.
 */
export class NetnsLink {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private forwarder: ChildProcess | null = null;
  /** Connections the root-side forwarder accepted. */
  accepted = 0;

  private constructor(
    readonly namespace: string,
    private readonly hostVeth: string,
    private readonly rootAddress: string,
    readonly nsAddress: string,
    private readonly target: () => { host: string; port: number },
  ) {
    this.server = net.createServer((inbound) => this.accept(inbound));
  }

  /** Creates the namespace and the veth pair and starts both forwarders. Throws, saying why, when it cannot. */
  static async create(target: () => { host: string; port: number }): Promise<NetnsLink> {
    const id = randomBytes(3).toString('hex');
    const subnet = `10.${200 + (randomBytes(1)[0] as number) % 50}.${randomBytes(1)[0] as number}`;
    const link = new NetnsLink(`berth-cut-${id}`, `bch${id}`, `${subnet}.1`, `${subnet}.2`, target);
    try {
      await link.setUp(`bcn${id}`);
    } catch (error) {
      await link.close();
      throw new Error(`cannot build the network namespace for this test (needs root and iproute2 with netns and veth): ${(error as Error).message}`);
    }
    return link;
  }

  /** Where agents connect: the forwarder inside the namespace. */
  get agentAddress(): string {
    return `${this.nsAddress}:${NS_PORT}`;
  }

  async cut(): Promise<void> {
    await run('ip', ['link', 'set', this.hostVeth, 'down']);
  }

  async restore(): Promise<void> {
    await run('ip', ['link', 'set', this.hostVeth, 'up']);
  }

  async close(): Promise<void> {
    const forwarder = this.forwarder;
    this.forwarder = null;
    if (forwarder !== null && forwarder.exitCode === null) {
      forwarder.stdin?.end();
      forwarder.kill('SIGKILL');
      await once(forwarder, 'exit').catch(() => undefined);
    }
    for (const socket of this.sockets) socket.destroy();
    if (this.server.listening) await new Promise((resolve) => this.server.close(resolve));
    // Deleting one end deletes the pair; deleting the namespace removes what is left in it.
    await run('ip', ['link', 'del', this.hostVeth]).catch(() => undefined);
    await run('ip', ['netns', 'del', this.namespace]).catch(() => undefined);
  }

  private async setUp(nsVeth: string): Promise<void> {
    const inNs = (...args: string[]): Promise<unknown> => run('ip', ['netns', 'exec', this.namespace, ...args]);
    await run('ip', ['netns', 'add', this.namespace]);
    await run('ip', ['link', 'add', this.hostVeth, 'type', 'veth', 'peer', 'name', nsVeth]);
    await run('ip', ['link', 'set', nsVeth, 'netns', this.namespace]);
    await run('ip', ['addr', 'add', `${this.rootAddress}/30`, 'dev', this.hostVeth]);
    await run('ip', ['link', 'set', this.hostVeth, 'up']);
    await inNs('ip', 'addr', 'add', `${this.nsAddress}/30`, 'dev', nsVeth);
    await inNs('ip', 'link', 'set', nsVeth, 'up');
    await inNs('ip', 'link', 'set', 'lo', 'up');
    this.server.listen(0, this.rootAddress);
    await once(this.server, 'listening');
    const rootPort = (this.server.address() as net.AddressInfo).port;
    const forwarder = spawn('ip', ['netns', 'exec', this.namespace, process.execPath, '-e', NS_FORWARDER, this.nsAddress, String(NS_PORT), this.rootAddress, String(rootPort)], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    this.forwarder = forwarder;
    const ready = new Promise<void>((resolve, reject) => {
      forwarder.stdout?.on('data', (data: Buffer) => (data.toString().includes('ready') ? resolve() : undefined));
      forwarder.on('exit', (code) => reject(new Error(`the forwarder inside the namespace exited (${code ?? 'signal'})`)));
    });
    await ready;
  }

  private accept(inbound: net.Socket): void {
    this.accepted += 1;
    const { host, port } = this.target();
    const upstream = net.connect(port, host);
    for (const socket of [inbound, upstream]) {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => {
        inbound.destroy();
        upstream.destroy();
      });
    }
    inbound.pipe(upstream);
    upstream.pipe(inbound);
    inbound.on('close', () => upstream.destroy());
    upstream.on('close', () => inbound.destroy());
  }
}
