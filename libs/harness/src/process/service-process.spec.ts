import { spawn } from 'node:child_process';
import { promises as fs, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { trackedProcessIds } from './registry';
import { ServiceProcess } from './service-process';
import { logMatches, ServiceStartError, waitUntil } from './wait';

/** A stand-in service: prints its argv and an env var, says "listening", optionally ignores SIGTERM. */
const FAKE_SERVICE = `
const mode = process.argv[2];
console.log('args ' + process.argv.slice(2).join(' ') + ' env ' + process.env.FAKE_SETTING + ' leaked ' + (process.env.BERTH_LEAK ?? 'none'));
if (mode === 'crash') { console.error('fatal: bad config'); process.exit(4); }
if (mode === 'stubborn') process.on('SIGTERM', () => console.log('ignoring SIGTERM'));
else process.on('SIGTERM', () => { console.log('stopping'); process.exit(0); });
setTimeout(() => console.log('fake listening'), 100);
setInterval(() => {}, 1000);
`;

/** Running, as opposed to gone or a zombie nobody has reaped yet (its parent was killed). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

describe('ServiceProcess', () => {
  let work: string;
  let entry: string;

  beforeAll(async () => {
    work = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-service-'));
    entry = path.join(work, 'fake-service.js');
    await fs.writeFile(entry, FAKE_SERVICE);
  });

  afterAll(async () => {
    await fs.rm(work, { recursive: true, force: true });
  });

  it('starts a service with its own environment only, logs to a file and stops it with SIGTERM', async () => {
    process.env['BERTH_LEAK'] = 'from-parent';
    try {
      const service = await ServiceProcess.spawn({ service: 'controller', args: ['--x'], env: { FAKE_SETTING: 'on' }, logFile: path.join(work, 'logs', 'a.log'), entry });
      expect(trackedProcessIds()).toContain(service.pid);
      await waitUntil(service, 'listening', logMatches(service, /fake listening/), 5000);
      expect(await service.log.text()).toContain('args controller --x env on leaked none');
      expect(await service.stop()).toBe(0);
      expect(await service.log.text()).toContain('stopping');
      expect(service.running).toBe(false);
      expect(trackedProcessIds()).not.toContain(service.pid);
    } finally {
      delete process.env['BERTH_LEAK'];
    }
  });

  it('escalates to SIGKILL when the service ignores SIGTERM', async () => {
    const service = await ServiceProcess.spawn({ service: 'stubborn', env: {}, logFile: path.join(work, 'b.log'), entry });
    await waitUntil(service, 'listening', logMatches(service, /fake listening/), 5000);
    const started = Date.now();
    expect(await service.stop('SIGTERM', 300)).toBe(128 + 9);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(await service.log.text()).toContain('ignoring SIGTERM');
    expect(service.exitedUnasked).toBe(false);
  });

  it('fails readiness at once, with the end of the log, when the service exits early', async () => {
    const service = await ServiceProcess.spawn({ service: 'crash', env: {}, logFile: path.join(work, 'c.log'), entry, label: 'fake crash' });
    const error = await waitUntil(service, 'listening', logMatches(service, /fake listening/), 10_000).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceStartError);
    expect((error as Error).message).toMatch(/^fake crash stopped before listening \(exited with code 4\); log .*c\.log:\n[\s\S]*fatal: bad config/);
    // Nobody asked it to stop: a fleet reports such an exit when it is stopped.
    expect(service.exitedUnasked).toBe(true);
  });

  it('stops services by itself when the process that started them dies (orphan guard)', async () => {
    // A parent that starts a service through the harness, prints its pid, then is killed with SIGKILL.
    const harnessModule = path.join(__dirname, 'service-process.ts');
    const parentScript = path.join(work, 'parent.js');
    await fs.writeFile(
      parentScript,
      `const { ServiceProcess } = require(${JSON.stringify(harnessModule)});
       ServiceProcess.spawn({ service: 'orphan', env: {}, logFile: ${JSON.stringify(path.join(work, 'd.log'))}, entry: ${JSON.stringify(entry)} })
         .then((s) => { console.log(s.pid); setInterval(() => {}, 1000); });`,
    );
    const parent = spawn(process.execPath, ['--require', require.resolve('@swc-node/register'), parentScript], { stdio: ['ignore', 'pipe', 'inherit'], cwd: path.resolve(__dirname, '../../../..') });
    const servicePid = await new Promise<number>((resolve, reject) => {
      parent.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
      parent.once('exit', (code) => reject(new Error(`parent exited with ${code}`)));
    });
    expect(alive(servicePid)).toBe(true);
    parent.kill('SIGKILL');
    const deadline = Date.now() + 5000;
    while (alive(servicePid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(alive(servicePid)).toBe(false);
    expect(await fs.readFile(path.join(work, 'd.log'), 'utf8')).toContain('stopping');
  });
});
