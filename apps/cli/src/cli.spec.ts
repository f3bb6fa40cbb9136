import net from 'node:net';
import { runCli } from './cli';

class Capture {
  text = '';
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
}

async function run(argv: string[], controllerUrl = 'http://127.0.0.1:9'): Promise<{ code: number; out: string; err: string }> {
  const stdout = new Capture();
  const stderr = new Capture();
  const code = await runCli(argv, { stdout, stderr }, { controllerUrl, token: null });
  return { code, out: stdout.text, err: stderr.text };
}

function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const address = server.address() as net.AddressInfo;
      server.close(() => resolve(address.port));
    });
  });
}

describe('berth command line', () => {
  it('shows help with exit 0 and lists every operator command', async () => {
    const { code, out } = await run(['--help']);
    expect(code).toBe(0);
    for (const command of ['host', 'hosts', 'backup', 'runs', 'run', 'retry', 'snapshots', 'restore', 'demo', 'delta']) expect(out).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
  });

  it('exits 2 on an unknown command or a missing argument, saying so in one line', async () => {
    const unknown = await run(['bakup', 'web-1']);
    expect(unknown.code).toBe(2);
    expect(unknown.err.split('\n')[0]).toBe("berth: unknown command 'bakup'");
    const missing = await run(['restore', 'snap-1']);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain("berth: required option '--to <dir>' not specified");
  });

  it('rejects relative paths before contacting the controller (exit 2)', async () => {
    const { code, err } = await run(['host', 'add', 'web-1', '--path', 'srv']);
    expect(code).toBe(2);
    expect(err).toBe('berth: --path must be an absolute path (a directory on the client, e.g. /srv/data); got "srv"\n');
  });

  it('reports an unreachable controller in one line, with exit 1, wherever --controller is given', async () => {
    const port = await closedPort();
    const url = `http://127.0.0.1:${port}`;
    for (const argv of [['--controller', url, 'hosts'], ['hosts', '--controller', url, '--json']]) {
      const { code, out, err } = await run(argv);
      expect(code).toBe(1);
      expect(out).toBe('');
      expect(err).toBe(`berth: cannot reach the controller at ${url} (ECONNREFUSED); start it with \`berth controller\` or pass --controller\n`);
    }
  });

  it('runs the delta commands through the same error handling (one line, exit 1)', async () => {
    const { code, err } = await run(['delta', 'signature', '/nonexistent/basis', '/tmp/berth-never-written.sig']);
    expect(code).toBe(1);
    expect(err).toMatch(/^berth: [^\n]*\/nonexistent\/basis[^\n]*\n$/);
  });

  it('rejects a controller URL that is not http(s)', async () => {
    const { code, err } = await run(['hosts', '--controller', 'ftp://x']);
    expect(code).toBe(2);
    expect(err).toBe('berth: controller URL "ftp://x" must start with http:// or https://\n');
  });
});
